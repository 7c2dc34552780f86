//! Gradient histograms: per bin, the sums of gradients, hessians and rows of a node's rows.
//!
//! Rows are split into fixed-size chunks summed on parallel threads, then added up in chunk
//! order: the result does not depend on the number of threads, so training is deterministic.

use rayon::prelude::*;

use super::binning::{Binned, Layout};

/// Rows per parallel chunk: an eighth of the node's rows, between these bounds, so that small
/// nodes use every core too. Derived from the node's size only (never from the thread count),
/// so sums are added in the same order on any machine.
const MIN_CHUNK: usize = 2_048;
const MAX_CHUNK: usize = 16_384;

/// Sums over the rows of one bin (or of a node). No row count: as in LightGBM, split finding
/// estimates a side's rows from its share of the node's hessian (16 bytes per bin instead of
/// 24 keeps a histogram in the L1 cache).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bin {
    pub g: f64,
    pub h: f64,
}

impl Bin {
    #[inline]
    pub fn add(self, other: Bin) -> Bin {
        Bin {
            g: self.g + other.g,
            h: self.h + other.h,
        }
    }

    #[inline]
    pub fn sub(self, other: Bin) -> Bin {
        Bin {
            g: self.g - other.g,
            h: self.h - other.h,
        }
    }
}

/// Gradient and hessian of one row (f32 halves the memory traffic; sums are f64).
pub type Gradient = [f32; 2];

/// The histogram of `rows` over every group of `layout`.
pub fn build(layout: &Layout, binned: &Binned, rows: &[u32], gradients: &[Gradient]) -> Vec<Bin> {
    let chunk = (rows.len() / 8).clamp(MIN_CHUNK, MAX_CHUNK);
    if rows.len() <= chunk {
        let mut histogram = vec![Bin::default(); layout.histogram_bins];
        accumulate(layout, binned, rows, gradients, &mut histogram);
        return histogram;
    }
    let parts: Vec<Vec<Bin>> = rows
        .par_chunks(chunk)
        .map(|rows| {
            let mut histogram = vec![Bin::default(); layout.histogram_bins];
            accumulate(layout, binned, rows, gradients, &mut histogram);
            histogram
        })
        .collect();
    let mut parts = parts.into_iter();
    let mut total = parts.next().unwrap_or_default();
    for part in parts {
        for (sum, bin) in total.iter_mut().zip(part) {
            *sum = sum.add(bin);
        }
    }
    total
}

fn accumulate(
    layout: &Layout,
    binned: &Binned,
    rows: &[u32],
    gradients: &[Gradient],
    histogram: &mut [Bin],
) {
    let offsets = &layout.offsets[..binned.groups];
    for (index, row) in rows.iter().enumerate() {
        let row = *row as usize;
        // Deep nodes' rows are scattered: fetch a later row's bytes and gradient ahead.
        if let Some(ahead) = rows.get(index + PREFETCH) {
            prefetch(
                binned
                    .data
                    .as_ptr()
                    .wrapping_add(*ahead as usize * binned.groups),
            );
            prefetch(gradients.as_ptr().wrapping_add(*ahead as usize).cast());
        }
        let [g, h] = gradients[row];
        let (g, h) = (f64::from(g), f64::from(h));
        for (offset, code) in offsets.iter().zip(binned.row(row)) {
            let bin = &mut histogram[offset + *code as usize];
            bin.g += g;
            bin.h += h;
        }
    }
}

/// Rows ahead to prefetch.
const PREFETCH: usize = 16;

#[inline(always)]
fn prefetch(pointer: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(pointer.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = pointer;
}

/// `parent - child`, in place: the sibling's histogram without reading its rows.
pub fn subtract(parent: &mut [Bin], child: &[Bin]) {
    for (sum, bin) in parent.iter_mut().zip(child) {
        *sum = sum.sub(*bin);
    }
}
