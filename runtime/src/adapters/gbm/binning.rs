//! Feature binning: each feature's values become at most 255 ordered bins plus one for missing
//! values, stored one byte per row and group, row after row (a row's bytes are contiguous, so
//! building a node's histogram reads each row once, whatever the node's row subset).
//!
//! Two-valued features without missing values whose non-default rows never overlap (one-hot
//! indicators) share one byte: a "bundle", as in LightGBM's exclusive feature bundling. A
//! bundle's byte is 0 when every member holds its default value and `k` when member `k` does
//! not, so one-hot columns cost one histogram pass per original categorical, not per category.

use rayon::prelude::*;

use crate::features::Columns;

/// Values sampled to place bin bounds (scikit-learn's HistGradientBoosting uses the same).
const SAMPLE: usize = 200_000;
/// Rows binned per parallel task.
const ROWS_PER_TASK: usize = 8_192;
/// Members a bundle can hold (its codes are 1..=MAX_BUNDLE, 0 is "all default").
const MAX_BUNDLE: usize = 254;

/// The bins of one feature: a value `v` falls in the first bin `b` with `v <= upper[b]`, or in
/// the last value bin (`upper.len()`) above every bound; missing values get their own bin.
#[derive(Clone, Debug)]
pub struct BinMapper {
    pub upper: Vec<f64>,
}

impl BinMapper {
    /// Bounds at midpoints between distinct values, or between quantiles when there are more
    /// distinct values than `max_bins`. Reads a deterministic sample of at most 200,000 values.
    pub fn fit(values: &[f64], max_bins: usize) -> BinMapper {
        let step = values.len().div_ceil(SAMPLE).max(1);
        let mut sample: Vec<f64> = values
            .iter()
            .step_by(step)
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        sample.sort_unstable_by(f64::total_cmp);
        let mut distinct = sample.clone();
        distinct.dedup();
        let midpoint = |a: f64, b: f64| a + (b - a) / 2.0;
        let mut upper: Vec<f64> = if distinct.len() <= max_bins {
            distinct.windows(2).map(|w| midpoint(w[0], w[1])).collect()
        } else {
            (1..max_bins)
                .map(|q| {
                    let position = q * sample.len() / max_bins;
                    midpoint(sample[position - 1], sample[position])
                })
                .collect()
        };
        upper.dedup();
        BinMapper { upper }
    }

    /// Bins for values (missing values take the code after them).
    pub fn value_bins(&self) -> usize {
        self.upper.len() + 1
    }

    pub fn missing(&self) -> u8 {
        self.value_bins() as u8
    }

    pub fn bin(&self, value: f64) -> u8 {
        if value.is_nan() {
            self.missing()
        } else {
            self.upper.partition_point(|bound| *bound < value) as u8
        }
    }
}

/// Where a feature's bin lives in a binned row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The feature has a byte of its own: its bin.
    Own { group: usize },
    /// The feature shares a bundle's byte: `code` there means `other`, anything else `default`.
    Bundled {
        group: usize,
        code: u8,
        default: u8,
        other: u8,
    },
}

/// How features map to bins and bytes; fitted on the training matrix.
#[derive(Clone, Debug)]
pub struct Layout {
    pub mappers: Vec<BinMapper>,
    pub slots: Vec<Slot>,
    /// Per group: its features (one, or a bundle's members in code order).
    pub groups: Vec<Vec<usize>>,
    /// Per group: where its bins start in a histogram.
    pub offsets: Vec<usize>,
    /// Bins of a whole histogram.
    pub histogram_bins: usize,
}

/// A binned matrix: rows of `groups` bytes (histograms read whole rows), and the same bytes
/// group by group (partitions read one group of many rows: 1 byte per row instead of a line).
pub struct Binned {
    pub data: Vec<u8>,
    pub groups: usize,
    pub by_group: Vec<u8>,
    pub rows: usize,
}

impl Binned {
    /// From the bytes group by group: the row-major copy is their transpose.
    fn from_groups(by_group: Vec<u8>, groups: usize, rows: usize) -> Binned {
        let mut data = vec![0u8; rows * groups];
        data.par_chunks_mut(ROWS_PER_TASK * groups.max(1))
            .enumerate()
            .for_each(|(task, chunk)| {
                let first = task * ROWS_PER_TASK;
                for (offset, row) in chunk.chunks_mut(groups).enumerate() {
                    for (group, byte) in row.iter_mut().enumerate() {
                        *byte = by_group[group * rows + first + offset];
                    }
                }
            });
        Binned {
            data,
            groups,
            by_group,
            rows,
        }
    }

    /// Every row's byte of `group`.
    pub fn group_column(&self, group: usize) -> &[u8] {
        &self.by_group[group * self.rows..(group + 1) * self.rows]
    }

    #[inline]
    pub fn row(&self, row: usize) -> &[u8] {
        &self.data[row * self.groups..(row + 1) * self.groups]
    }
}

/// One feature, binned: its bounds, its bin per row, and whether any value is missing.
struct BinnedColumn {
    mapper: BinMapper,
    bins: Vec<u8>,
    has_missing: bool,
}

impl Layout {
    /// Fits bins and bundles on `x` and bins it. Columns are read one at a time (on parallel
    /// threads), so the f64 matrix is never whole in memory. `bundle: false` gives every
    /// feature its own byte (tests compare both).
    pub fn fit(x: &dyn Columns, max_bins: usize, bundle: bool) -> anyhow::Result<(Layout, Binned)> {
        let max_bins = max_bins.clamp(2, 255);
        let rows = x.rows();
        let columns: Vec<BinnedColumn> = (0..x.width())
            .into_par_iter()
            .map(|feature| {
                let values = x.column(feature)?;
                let mapper = BinMapper::fit(&values, max_bins);
                let bins: Vec<u8> = values.iter().map(|value| mapper.bin(*value)).collect();
                let has_missing = values.iter().any(|value| value.is_nan());
                Ok(BinnedColumn {
                    mapper,
                    bins,
                    has_missing,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        // Groups in order of their first feature: (members, their bytes). A bundle's byte is 0
        // where every member holds its default, so a member fits where its rows are all 0.
        let mut groups: Vec<(Vec<usize>, Vec<u8>)> = Vec::new();
        let mut bundles: Vec<usize> = Vec::new();
        let mut defaults = vec![0u8; columns.len()];
        let mut mappers = Vec::with_capacity(columns.len());
        for (feature, column) in columns.into_iter().enumerate() {
            mappers.push(column.mapper);
            let eligible = bundle && mappers[feature].value_bins() == 2 && !column.has_missing;
            if !eligible {
                groups.push((vec![feature], column.bins));
                continue;
            }
            // The more frequent bin is the default; the bundle marks the rows of the other.
            let ones = column.bins.iter().filter(|bin| **bin == 1).count();
            let default = u8::from(ones * 2 > rows);
            defaults[feature] = default;
            let claimed: Vec<usize> = (0..rows)
                .filter(|row| column.bins[*row] != default)
                .collect();
            let home = bundles.iter().copied().find(|group| {
                let (members, codes) = &groups[*group];
                members.len() < MAX_BUNDLE && claimed.iter().all(|row| codes[*row] == 0)
            });
            let group = home.unwrap_or_else(|| {
                groups.push((Vec::new(), vec![0; rows]));
                bundles.push(groups.len() - 1);
                groups.len() - 1
            });
            let (members, codes) = &mut groups[group];
            members.push(feature);
            let code = members.len() as u8;
            for row in claimed {
                codes[row] = code;
            }
        }
        let mut slots = vec![Slot::Own { group: 0 }; mappers.len()];
        let mut offsets = Vec::with_capacity(groups.len());
        let mut histogram_bins = 0;
        let mut by_group = Vec::with_capacity(rows * groups.len());
        let mut members_of = Vec::with_capacity(groups.len());
        for (group, (members, mut codes)) in groups.into_iter().enumerate() {
            offsets.push(histogram_bins);
            if let [feature] = members[..] {
                // A lone feature (or a bundle of one) keeps a byte of its own: its bin.
                if bundles.contains(&group) && defaults[feature] == 1 {
                    codes.iter_mut().for_each(|code| *code = 1 - *code);
                }
                slots[feature] = Slot::Own { group };
                histogram_bins += mappers[feature].value_bins() + 1;
            } else {
                for (index, feature) in members.iter().enumerate() {
                    let default = defaults[*feature];
                    slots[*feature] = Slot::Bundled {
                        group,
                        code: index as u8 + 1,
                        default,
                        other: 1 - default,
                    };
                }
                histogram_bins += members.len() + 1;
            }
            by_group.extend_from_slice(&codes);
            members_of.push(members);
        }
        let layout = Layout {
            mappers,
            slots,
            groups: members_of,
            offsets,
            histogram_bins,
        };
        let binned = Binned::from_groups(by_group, layout.groups.len(), rows);
        Ok((layout, binned))
    }

    pub fn features(&self) -> usize {
        self.mappers.len()
    }

    /// The bin of `feature` in `row` of `binned`.
    #[inline]
    pub fn feature_bin(&self, binned: &Binned, row: usize, feature: usize) -> u8 {
        match self.slots[feature] {
            Slot::Own { group } => binned.by_group[group * binned.rows + row],
            Slot::Bundled {
                group,
                code,
                default,
                other,
            } => {
                if binned.by_group[group * binned.rows + row] == code {
                    other
                } else {
                    default
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Matrix;

    #[test]
    fn a_value_is_left_of_a_bound_exactly_when_its_bin_is() {
        let values: Vec<f64> = (0..5_000)
            .map(|i| ((i * 7919) % 1_000) as f64 / 7.0)
            .collect();
        let mapper = BinMapper::fit(&values, 64);
        assert!(mapper.value_bins() <= 64);
        for value in values.iter().chain(&[-1.0, 1e9]) {
            let bin = mapper.bin(*value);
            for (threshold, bound) in mapper.upper.iter().enumerate() {
                assert_eq!(
                    bin as usize <= threshold,
                    *value <= *bound,
                    "{value} vs {bound}"
                );
            }
        }
        assert_eq!(mapper.bin(f64::NAN), mapper.missing());
    }

    #[test]
    fn few_distinct_values_get_a_bin_each() {
        let mapper = BinMapper::fit(&[3.0, 1.0, 2.0, 1.0, f64::NAN], 255);
        assert_eq!(mapper.upper, vec![1.5, 2.5]);
        assert_eq!(mapper.missing(), 3);
    }

    #[test]
    fn one_hot_columns_share_a_byte_and_keep_their_bins() {
        // A numeric column, then a three-category one-hot block.
        let rows = 9;
        let mut values: Vec<f64> = (0..rows).map(|i| i as f64).collect();
        for category in 0..3 {
            values.extend((0..rows).map(|row| f64::from(u8::from(row % 3 == category))));
        }
        let x = Matrix {
            values,
            rows,
            columns: 4,
        };
        let (layout, binned) = Layout::fit(&x, 255, true).unwrap();
        assert_eq!(layout.groups, vec![vec![0], vec![1, 2, 3]]);
        assert_eq!(binned.groups, 2);
        let (plain, unbundled) = Layout::fit(&x, 255, false).unwrap();
        for row in 0..rows {
            for feature in 0..4 {
                assert_eq!(
                    layout.feature_bin(&binned, row, feature),
                    plain.feature_bin(&unbundled, row, feature)
                );
            }
        }
    }
}
