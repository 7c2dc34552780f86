//! One regression tree: how it is stored, how it predicts, and how it grows best-first from
//! gradient histograms (the child with fewer rows is summed, its sibling is the parent minus it).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::{Binned, Layout, Slot};
use super::histogram::{self, Bin, Gradient};
use crate::random::SplitMix64;

/// Nodes in arrays (node 0 is the root). A split sends a row left when its value is at most
/// `threshold`, and missing values the way `missing_left` says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The split feature, or -1 for a leaf.
    pub feature: Vec<i32>,
    /// +infinity (every value left, only missing right) is stored as null: JSON has no infinity.
    #[serde(with = "infinite_as_null")]
    pub threshold: Vec<f64>,
    pub missing_left: Vec<bool>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    /// A leaf's output (learning rate applied).
    pub value: Vec<f64>,
    /// The split's bin (training only: predicts binned rows).
    #[serde(skip)]
    pub bin: Vec<u8>,
}

impl Tree {
    fn leaf(&mut self) -> usize {
        self.feature.push(-1);
        self.threshold.push(0.0);
        self.missing_left.push(false);
        self.left.push(0);
        self.right.push(0);
        self.value.push(0.0);
        self.bin.push(0);
        self.feature.len() - 1
    }

    /// The leaf value for one row's feature values.
    pub fn predict(&self, values: &[f64]) -> f64 {
        self.walk(|node| {
            let value = values[self.feature[node] as usize];
            if value.is_nan() {
                self.missing_left[node]
            } else {
                value <= self.threshold[node]
            }
        })
    }

    /// The leaf value for a row of binned training data.
    pub fn predict_binned(&self, layout: &Layout, binned: &Binned, row: usize) -> f64 {
        self.walk(|node| {
            let feature = self.feature[node] as usize;
            let bin = layout.feature_bin(binned, row, feature);
            if bin == layout.mappers[feature].missing() {
                self.missing_left[node]
            } else {
                bin <= self.bin[node]
            }
        })
    }

    /// From the root to a leaf, going left where `goes_left(node)`; the leaf's value.
    fn walk(&self, goes_left: impl Fn(usize) -> bool) -> f64 {
        let mut node = 0;
        while self.feature[node] >= 0 {
            node = if goes_left(node) {
                self.left[node]
            } else {
                self.right[node]
            } as usize;
        }
        self.value[node]
    }
}

mod infinite_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|v| v.is_finite().then_some(*v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        let values: Vec<Option<f64>> = Vec::deserialize(deserializer)?;
        Ok(values
            .into_iter()
            .map(|v| v.unwrap_or(f64::INFINITY))
            .collect())
    }
}

/// How trees grow.
#[derive(Clone, Copy, Debug)]
pub struct GrowParams {
    pub max_depth: usize,
    pub max_leaves: usize,
    pub l2: f64,
    pub min_leaf_weight: f64,
    pub min_samples_leaf: usize,
    pub learning_rate: f64,
    /// Share of the features a node's split considers (1.0: all).
    pub colsample: f64,
    /// One random threshold per feature instead of the best (extremely randomized trees).
    pub extra: bool,
    /// The tree's seed: a node's features and thresholds come from it and the node's number.
    pub seed: u64,
}

impl GrowParams {
    /// Whether splits draw random numbers (the booster then gives each tree its own seed).
    pub fn randomized(&self) -> bool {
        self.colsample < 1.0 || self.extra
    }
}

#[derive(Clone, Copy, Debug)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    missing_left: bool,
    left: Bin,
    right: Bin,
}

/// A leaf that may still split: its rows are `rows[start..end]` of the grower's row buffer.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    sum: Bin,
    histogram: Option<Vec<Bin>>,
    split: Option<Split>,
}

/// Where a grown tree's leaves are in the row buffer, so the booster adds their values to the
/// rows' scores without walking the tree.
pub enum LeafRows {
    /// `rows[start..end]` all take `value`.
    Range {
        start: usize,
        end: usize,
        value: f64,
    },
    /// `rows[start..end]` were split into two final leaves (at the depth limit) without being
    /// reordered: a row takes `left` when `table` says so for its byte in `group`.
    Split {
        start: usize,
        end: usize,
        group: usize,
        table: Box<[bool; 256]>,
        left: f64,
        right: f64,
    },
}

/// A grown tree and where its leaves' rows are.
pub struct Grown {
    pub tree: Tree,
    pub leaves: Vec<LeafRows>,
    /// (feature, gain) of each split.
    pub gains: Vec<(usize, f64)>,
}

/// Grows one tree on `rows` (reordered in place: each leaf's rows end up contiguous).
/// `scratch` is reused across trees (it holds up to `rows.len()` row numbers).
pub fn grow(
    layout: &Layout,
    binned: &Binned,
    gradients: &[Gradient],
    rows: &mut [u32],
    params: &GrowParams,
    scratch: &mut Vec<u32>,
) -> Grown {
    let mut tree = Tree::default();
    let mut gains = Vec::new();
    let mut finals = Vec::new();
    let root = tree.leaf();
    let histogram = histogram::build(layout, binned, rows, gradients);
    let sum = node_sum(layout, &histogram);
    let mut open = vec![Open {
        node: root,
        start: 0,
        end: rows.len(),
        depth: 0,
        sum,
        split: None,
        histogram: Some(histogram),
    }];
    open[0].split = best_split(layout, &open[0], params);
    let mut leaves = 1;
    while leaves < params.max_leaves {
        // The open leaf with the largest gain splits next (ties: the earliest).
        let Some(index) = open
            .iter()
            .enumerate()
            .filter_map(|(index, leaf)| leaf.split.map(|split| (index, split.gain)))
            .fold(
                None,
                |best: Option<(usize, f64)>, (index, gain)| match best {
                    Some((_, top)) if top >= gain => best,
                    _ => Some((index, gain)),
                },
            )
            .map(|(index, _)| index)
        else {
            break;
        };
        let parent = open.swap_remove(index);
        let split = parent.split.expect("chosen for its split");
        gains.push((split.feature, split.gain));
        if parent.depth + 1 >= params.max_depth {
            // Both children are final leaves: no need to reorder the rows (a fifth of the
            // partitioning work for depth-5 trees); the booster reads each row's side instead.
            let (left, right) = (tree.leaf(), tree.leaf());
            set_split(&mut tree, layout, parent.node, &split, left, right);
            let (left_value, right_value) = (
                leaf_value(split.left, params),
                leaf_value(split.right, params),
            );
            tree.value[left] = left_value;
            tree.value[right] = right_value;
            let (group, table) = goes_left(layout, &split);
            finals.push(LeafRows::Split {
                start: parent.start,
                end: parent.end,
                group,
                table: Box::new(table),
                left: left_value,
                right: right_value,
            });
            leaves += 1;
            continue;
        }
        let middle = partition(layout, binned, rows, &parent, &split, scratch);
        let (left, right) = (tree.leaf(), tree.leaf());
        set_split(&mut tree, layout, parent.node, &split, left, right);
        leaves += 1;
        let mut children = [
            child(left, parent.start, middle, parent.depth + 1, split.left),
            child(right, middle, parent.end, parent.depth + 1, split.right),
        ];
        let may_split = |leaf: &Open| {
            leaf.depth < params.max_depth && leaf.end - leaf.start >= 2 * params.min_samples_leaf
        };
        if children.iter().any(may_split) {
            let mut parent_histogram = parent.histogram.expect("an open leaf has its histogram");
            let small = usize::from(
                children[1].end - children[1].start < children[0].end - children[0].start,
            );
            let small_rows = &rows[children[small].start..children[small].end];
            let small_histogram = histogram::build(layout, binned, small_rows, gradients);
            histogram::subtract(&mut parent_histogram, &small_histogram);
            children[small].histogram = Some(small_histogram);
            children[1 - small].histogram = Some(parent_histogram);
        }
        for mut leaf in children {
            if leaf.histogram.is_some() && may_split(&leaf) {
                leaf.split = best_split(layout, &leaf, params);
            }
            open.push(leaf);
        }
    }
    let mut leaves = finals;
    for leaf in open {
        let value = leaf_value(leaf.sum, params);
        tree.value[leaf.node] = value;
        leaves.push(LeafRows::Range {
            start: leaf.start,
            end: leaf.end,
            value,
        });
    }
    Grown {
        tree,
        leaves,
        gains,
    }
}

/// A leaf's output: the Newton step of its rows, shrunk by the learning rate.
fn leaf_value(sum: Bin, params: &GrowParams) -> f64 {
    -sum.g / (sum.h + params.l2) * params.learning_rate
}

/// Turns leaf `node` into a split with children `left` and `right`.
fn set_split(
    tree: &mut Tree,
    layout: &Layout,
    node: usize,
    split: &Split,
    left: usize,
    right: usize,
) {
    tree.feature[node] = split.feature as i32;
    tree.threshold[node] = threshold(layout, split.feature, split.bin);
    tree.missing_left[node] = split.missing_left;
    tree.bin[node] = split.bin;
    tree.left[node] = left as u32;
    tree.right[node] = right as u32;
}

fn child(node: usize, start: usize, end: usize, depth: usize, sum: Bin) -> Open {
    Open {
        node,
        start,
        end,
        depth,
        sum,
        histogram: None,
        split: None,
    }
}

/// The node's totals: the sum of any one group's bins (every row has one bin per group).
fn node_sum(layout: &Layout, histogram: &[Bin]) -> Bin {
    let end = layout.offsets.get(1).copied().unwrap_or(histogram.len());
    histogram[..end]
        .iter()
        .fold(Bin::default(), |sum, bin| sum.add(*bin))
}

/// The value bound of a split at `bin` (rows with a value at most this go left).
fn threshold(layout: &Layout, feature: usize, bin: u8) -> f64 {
    let upper = &layout.mappers[feature].upper;
    upper.get(bin as usize).copied().unwrap_or(f64::INFINITY)
}

/// Reorders the parent's rows so the left child's come first (stable); returns the boundary.
/// A 256-entry table says which way each byte of the split feature's group goes. Chunks of the
/// rows are split on parallel threads into a scratch buffer (lefts from the front, rights from
/// the back, without branches on capacity), then copied back in chunk order.
fn partition(
    layout: &Layout,
    binned: &Binned,
    rows: &mut [u32],
    parent: &Open,
    split: &Split,
    scratch: &mut Vec<u32>,
) -> usize {
    let (group, table) = goes_left(layout, split);
    let column = binned.group_column(group);
    let range = &mut rows[parent.start..parent.end];
    scratch.resize(range.len(), 0);
    let split_chunk = |(source, target): (&[u32], &mut [u32])| {
        let (mut left, mut right) = (0, target.len());
        for row in source {
            if table[column[*row as usize] as usize] {
                target[left] = *row;
                left += 1;
            } else {
                right -= 1;
                target[right] = *row;
            }
        }
        left
    };
    let lefts: Vec<usize> = if range.len() < 2 * PARTITION_CHUNK {
        vec![split_chunk((range, scratch.as_mut_slice()))]
    } else {
        range
            .par_chunks(PARTITION_CHUNK)
            .zip(scratch.par_chunks_mut(PARTITION_CHUNK))
            .map(split_chunk)
            .collect()
    };
    let chunk = if lefts.len() == 1 {
        range.len()
    } else {
        PARTITION_CHUNK
    };
    let boundary: usize = lefts.iter().sum();
    let (mut next_left, mut next_right) = (0, boundary);
    for (part, left) in scratch.chunks(chunk).zip(&lefts) {
        range[next_left..next_left + left].copy_from_slice(&part[..*left]);
        next_left += left;
        // Rights were written from the back: reversed, they are in row order again.
        for (target, row) in range[next_right..next_right + part.len() - left]
            .iter_mut()
            .zip(part[*left..].iter().rev())
        {
            *target = *row;
        }
        next_right += part.len() - left;
    }
    parent.start + boundary
}

/// Rows per parallel partition task.
const PARTITION_CHUNK: usize = 4_096;

/// The split feature's group, and for each byte there whether the row goes left.
fn goes_left(layout: &Layout, split: &Split) -> (usize, [bool; 256]) {
    let missing = layout.mappers[split.feature].missing();
    let mut table = [false; 256];
    let group = match layout.slots[split.feature] {
        Slot::Own { group } | Slot::Bundled { group, .. } => group,
    };
    for (byte, left) in table.iter_mut().enumerate() {
        let bin = match layout.slots[split.feature] {
            Slot::Own { .. } => byte as u8,
            Slot::Bundled {
                code,
                default,
                other,
                ..
            } => {
                if byte == code as usize {
                    other
                } else {
                    default
                }
            }
        };
        *left = if bin == missing {
            split.missing_left
        } else {
            bin <= split.bin
        };
    }
    (group, table)
}

/// The feature histogram of `feature` in a node: its value bins, then its missing bin.
fn feature_bins(layout: &Layout, histogram: &[Bin], sum: Bin, feature: usize, out: &mut Vec<Bin>) {
    out.clear();
    match layout.slots[feature] {
        Slot::Own { group } => {
            let start = layout.offsets[group];
            let bins = layout.mappers[feature].value_bins() + 1;
            out.extend_from_slice(&histogram[start..start + bins]);
        }
        Slot::Bundled {
            group,
            code,
            default,
            ..
        } => {
            let other = histogram[layout.offsets[group] + code as usize];
            let rest = sum.sub(other);
            let (low, high) = if default == 0 {
                (rest, other)
            } else {
                (other, rest)
            };
            out.extend_from_slice(&[low, high, Bin::default()]);
        }
    }
}

fn best_split(layout: &Layout, leaf: &Open, params: &GrowParams) -> Option<Split> {
    let histogram = leaf.histogram.as_ref()?;
    let sum = leaf.sum;
    let score = |bin: Bin| bin.g * bin.g / (bin.h + params.l2);
    let parent_score = score(sum);
    let min_rows = params.min_samples_leaf.max(1) as f64;
    // Rows of a side, estimated from its hessian (exact for squared error).
    let rows_per_hessian = (leaf.end - leaf.start) as f64 / sum.h.max(f64::MIN_POSITIVE);
    let rows = |bin: Bin| bin.h * rows_per_hessian;
    let allowed = |bin: Bin| rows(bin) >= min_rows && bin.h >= params.min_leaf_weight;
    let mut best: Option<Split> = None;
    let mut bins = Vec::with_capacity(256);
    let mut random = SplitMix64(
        params
            .seed
            .wrapping_add((leaf.node as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93)),
    );
    let features = layout.features();
    // The node's features: each kept with probability `colsample`, and at least one.
    let chosen: Option<Vec<bool>> = (params.colsample < 1.0).then(|| {
        let mut chosen: Vec<bool> = (0..features)
            .map(|_| random.unit() < params.colsample)
            .collect();
        if features > 0 && !chosen.contains(&true) {
            chosen[(random.next_u64() % features as u64) as usize] = true;
        }
        chosen
    });
    for feature in 0..features {
        if chosen.as_ref().is_some_and(|chosen| !chosen[feature]) {
            continue;
        }
        feature_bins(layout, histogram, sum, feature, &mut bins);
        let (missing, values) = bins.split_last().expect("a missing bin");
        let has_missing = missing.h > 0.0;
        // Extra trees: the one bin to split after, uniform between the node's first and last
        // occupied bins.
        let only = if params.extra {
            let occupied = |stats: &&Bin| stats.h > 0.0;
            let first = values.iter().position(|b| occupied(&b));
            let last = values.iter().rposition(|b| occupied(&b));
            match (first, last) {
                (Some(first), Some(last)) if last > first => {
                    Some(first + (random.next_u64() % (last - first) as u64) as usize)
                }
                _ => continue,
            }
        } else {
            None
        };
        for missing_left in [false, true] {
            if missing_left && !has_missing {
                continue;
            }
            let mut left = if missing_left {
                *missing
            } else {
                Bin::default()
            };
            for (bin, stats) in values.iter().enumerate() {
                left = left.add(*stats);
                let right = sum.sub(left);
                // All values left and missing right is a split only when there are missing rows.
                if bin + 1 == values.len() && (missing_left || !has_missing) {
                    break;
                }
                if rows(right) < min_rows {
                    break;
                }
                if only.is_some_and(|only| only != bin) {
                    continue;
                }
                if !allowed(left) || !allowed(right) {
                    continue;
                }
                let gain = score(left) + score(right) - parent_score;
                if gain > 1e-10 && best.is_none_or(|best| gain > best.gain) {
                    best = Some(Split {
                        gain,
                        feature,
                        bin: bin as u8,
                        left,
                        right,
                        // Without missing rows here, missing values follow the larger child.
                        missing_left: if has_missing {
                            missing_left
                        } else {
                            left.h >= right.h
                        },
                    });
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Matrix;

    #[test]
    fn partitions_are_stable_on_one_thread_and_many() {
        // Large enough for the parallel path (several chunks), with missing values.
        let rows = 5 * PARTITION_CHUNK + 123;
        let values: Vec<f64> = (0..rows)
            .map(|row| {
                if row % 11 == 0 {
                    f64::NAN
                } else {
                    ((row * 7_919) % 97) as f64
                }
            })
            .collect();
        let x = Matrix {
            values: values.clone(),
            rows,
            columns: 1,
        };
        let (layout, binned) = Layout::fit(&x, 64, true).unwrap();
        for (missing_left, bin, subset) in [(true, 20u8, 1usize), (false, 40, 3), (true, 0, 2)] {
            // Every `subset`-th row, in order, as a node's rows.
            let mut all: Vec<u32> = (0..rows as u32).step_by(subset).collect();
            let parent = child(0, 0, all.len(), 0, Bin::default());
            let split = Split {
                gain: 1.0,
                feature: 0,
                bin,
                missing_left,
                left: Bin::default(),
                right: Bin::default(),
            };
            let goes_left = |row: &u32| {
                let value = values[*row as usize];
                if value.is_nan() {
                    missing_left
                } else {
                    value <= threshold(&layout, 0, bin)
                }
            };
            let expected: Vec<u32> = all
                .iter()
                .copied()
                .filter(|row| goes_left(row))
                .chain(all.iter().copied().filter(|row| !goes_left(row)))
                .collect();
            let boundary = partition(&layout, &binned, &mut all, &parent, &split, &mut Vec::new());
            assert_eq!(boundary, all.iter().filter(|row| goes_left(row)).count());
            assert!(all == expected, "the partition is not stable");
        }
    }
}
