//! What AutoML does to the columns before its candidates see them.
//!
//! [`screen`] runs once on the training rows: constant columns and ID-like ones (a text value or
//! a consecutive whole number per row) carry nothing that generalizes, so they are left out with
//! a warning. [`Encoder`] is fitted per candidate inside each fold, so no fold's score sees its
//! own labels: tree models keep the category codes and get a target-encoded column beside each
//! categorical with many values; linear and k-NN models get one-hot columns for categoricals with
//! few values and target encoding for the rest. Target encoding of the rows a model trains on is
//! itself out-of-fold (inner folds), so a model cannot learn a category's mean from its own label.

use serde::{Deserialize, Serialize};

use crate::adapters::Task;
use crate::features::{Columns, FeatureColumn, Matrix};
use crate::random::SplitMix64;

/// A categorical with more values than this gets a target-encoded column for tree models.
const TREE_TARGET_MIN_CATEGORIES: usize = 8;
/// A categorical with at most this many values is one-hot encoded for linear and k-NN models.
const ONE_HOT_MAX_CATEGORIES: usize = 16;
/// Pseudo-rows of the prior mixed into a category's mean (an m-estimate).
const SMOOTHING: f64 = 10.0;
/// Inner folds of the out-of-fold target encoding of training rows.
const INNER_FOLDS: usize = 5;
/// Tables below this many rows are not screened for ID-like columns (too few rows to tell).
const ID_MIN_ROWS: usize = 30;

/// A feature column as AutoML sees it: its name and, for a text column, its category count.
#[derive(Clone, Debug)]
pub struct ColumnInfo {
    pub name: String,
    pub categories: Option<usize>,
}

impl ColumnInfo {
    /// The columns of `x` (named `column_<i>` when the input does not come from a frame).
    pub fn of(x: &dyn Columns) -> Vec<ColumnInfo> {
        (0..x.width())
            .map(|index| match x.feature(index) {
                Some(FeatureColumn::Ordinal { name, categories }) => ColumnInfo {
                    name: name.clone(),
                    categories: Some(categories.len()),
                },
                Some(FeatureColumn::Numeric { name }) => ColumnInfo {
                    name: name.clone(),
                    categories: None,
                },
                None => ColumnInfo {
                    name: format!("column_{index}"),
                    categories: None,
                },
            })
            .collect()
    }
}

/// The columns worth modelling (their indices in `x`) and a warning per column left out.
pub fn screen(x: &Matrix, columns: &[ColumnInfo]) -> (Vec<usize>, Vec<String>) {
    let mut kept = Vec::new();
    let mut warnings = Vec::new();
    for (index, info) in columns.iter().enumerate() {
        let values: Vec<f64> = x
            .column(index)
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        let first = values.first().copied();
        let constant = values.iter().all(|v| Some(*v) == first);
        if constant {
            warnings.push(format!(
                "automl leaves out column `{}`: it has a single value in the train set",
                info.name
            ));
            continue;
        }
        if let Some(reason) = id_like(&values, info, x.rows) {
            warnings.push(format!(
                "automl leaves out column `{}`: {reason}, like an identifier (declare it as the \
                 primary key or drop it to silence this)",
                info.name
            ));
            continue;
        }
        kept.push(index);
    }
    // Every column would go: keep them all rather than train on nothing, and say so once.
    if kept.is_empty() {
        kept = (0..columns.len()).collect();
        warnings = vec![
            "every feature column looks constant or like an identifier; automl trains on them all"
                .to_string(),
        ];
    }
    (kept, warnings)
}

/// Why a column looks like a row identifier, if it does: a text column with a different value
/// on (nearly) every row, or whole numbers all distinct and (nearly) consecutive.
fn id_like(values: &[f64], info: &ColumnInfo, rows: usize) -> Option<String> {
    if rows < ID_MIN_ROWS || values.len() * 10 < rows * 9 {
        return None;
    }
    // Cheap refusals first, before sorting the whole column: too few categories to be
    // (nearly) all distinct, a fraction, or a repeat among the first values.
    match info.categories {
        Some(categories) if categories * 100 < values.len() * 95 => return None,
        None if values.iter().any(|v| v.fract() != 0.0) => return None,
        None => {
            let mut head = values[..values.len().min(1_000)].to_vec();
            head.sort_by(f64::total_cmp);
            if head.windows(2).any(|pair| pair[0] == pair[1]) {
                return None;
            }
        }
        Some(_) => {}
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    let distinct = sorted.len();
    match info.categories {
        Some(_) if distinct * 100 >= values.len() * 95 => Some(format!(
            "{distinct} different values in {} rows",
            values.len()
        )),
        None if distinct == values.len()
            && sorted.iter().all(|v| v.fract() == 0.0)
            && sorted.last().unwrap_or(&0.0) - sorted.first().unwrap_or(&0.0)
                < 1.5 * distinct as f64 =>
        {
            Some(format!(
                "a different whole number on each of its {distinct} rows, nearly consecutive"
            ))
        }
        _ => None,
    }
}

/// Whether `encoding` changes anything on `columns` (without a text column, or for trees without
/// one of many values, the candidate reads the screened matrix as it is).
pub fn changes(columns: &[ColumnInfo], encoding: Encoding) -> bool {
    columns
        .iter()
        .any(|column| match (column.categories, encoding) {
            (None, _) => false,
            (Some(_), Encoding::Linear) => true,
            (Some(n), Encoding::Trees) => n > TREE_TARGET_MIN_CATEGORIES,
        })
}

/// How a candidate wants its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Codes as they are, plus target encoding for categoricals with many values.
    Trees,
    /// One-hot for few values, target encoding for many (scaled afterwards).
    Linear,
}

/// One output column of an encoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Output {
    /// Input column `column` as it is.
    Column { column: usize },
    /// 1 where column `column` holds category `code`, else 0 (missing too).
    Indicator { column: usize, code: u32 },
    /// The smoothed mean of the label (of class `class`'s indicator for multiclass) per
    /// category code of `column`; missing and unseen values get `prior`.
    Target {
        column: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        class: Option<usize>,
        means: Vec<f64>,
        prior: f64,
    },
}

/// A fitted encoding: input columns (the screened matrix) to the candidate's columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    outputs: Vec<Output>,
}

/// What the encoding reads of the label: 0/1, a value, or class `class`'s indicator.
fn target(y: f64, class: Option<usize>) -> f64 {
    match class {
        Some(class) => f64::from(u8::from(y as usize == class)),
        None => y,
    }
}

fn code_of(value: f64, categories: usize) -> Option<usize> {
    (value.is_finite() && value >= 0.0 && (value as usize) < categories).then_some(value as usize)
}

/// Smoothed per-category means of the label over `rows`.
fn category_means(
    column: &[f64],
    y: &[f64],
    rows: impl Iterator<Item = usize> + Clone,
    categories: usize,
    class: Option<usize>,
) -> (Vec<f64>, f64) {
    let (mut total, mut count) = (0.0, 0usize);
    let mut sums = vec![0.0; categories];
    let mut counts = vec![0usize; categories];
    for row in rows {
        let value = target(y[row], class);
        total += value;
        count += 1;
        if let Some(code) = code_of(column[row], categories) {
            sums[code] += value;
            counts[code] += 1;
        }
    }
    let prior = if count > 0 { total / count as f64 } else { 0.0 };
    let means = sums
        .iter()
        .zip(&counts)
        .map(|(sum, n)| (sum + prior * SMOOTHING) / (*n as f64 + SMOOTHING))
        .collect();
    (means, prior)
}

impl Encoder {
    /// Fits the encoding of `x` (the screened columns `columns`) for `encoding`, and returns it
    /// with `x` encoded for training: target-encoded columns of the training rows come from
    /// inner folds (each row encoded by the means of the other folds).
    pub fn fit(
        x: &Matrix,
        y: &[f64],
        task: Task,
        columns: &[ColumnInfo],
        encoding: Encoding,
        seed: u64,
    ) -> (Encoder, Matrix) {
        let classes: Vec<Option<usize>> = match task {
            Task::Multiclass(classes) => (0..classes).map(Some).collect(),
            _ => vec![None],
        };
        let mut outputs = Vec::new();
        for (column, info) in columns.iter().enumerate() {
            let categories = info.categories;
            let encode_target = match (categories, encoding) {
                (None, _) => false,
                (Some(n), Encoding::Trees) => n > TREE_TARGET_MIN_CATEGORIES,
                (Some(n), Encoding::Linear) => n > ONE_HOT_MAX_CATEGORIES,
            };
            match (categories, encoding) {
                (Some(n), Encoding::Linear) if n <= ONE_HOT_MAX_CATEGORIES => {
                    outputs.extend((0..n as u32).map(|code| Output::Indicator { column, code }));
                }
                (Some(_), Encoding::Linear) => {}
                _ => outputs.push(Output::Column { column }),
            }
            if encode_target {
                let n = categories.unwrap_or(0);
                for class in &classes {
                    let (means, prior) = category_means(x.column(column), y, 0..x.rows, n, *class);
                    outputs.push(Output::Target {
                        column,
                        class: *class,
                        means,
                        prior,
                    });
                }
            }
        }
        let encoder = Encoder { outputs };
        let encoded = encoder.encode(x, Some((y, seed)));
        (encoder, encoded)
    }

    /// `x` encoded for prediction.
    pub fn apply(&self, x: &Matrix) -> Matrix {
        self.encode(x, None)
    }

    /// Encodes `x`; with `training` (its labels and a seed), target-encoded columns are
    /// computed out of inner folds instead of from the fitted means.
    fn encode(&self, x: &Matrix, training: Option<(&[f64], u64)>) -> Matrix {
        let inner: Option<Vec<usize>> = training.map(|(_, seed)| {
            let mut random = SplitMix64(seed ^ 0x5EED_7A26_E7E4_C0DE);
            (0..x.rows)
                .map(|_| (random.next_u64() % INNER_FOLDS as u64) as usize)
                .collect()
        });
        let mut values = Vec::with_capacity(x.rows * self.outputs.len());
        for output in &self.outputs {
            match output {
                Output::Column { column } => values.extend_from_slice(x.column(*column)),
                Output::Indicator { column, code } => values.extend(
                    x.column(*column)
                        .iter()
                        .map(|v| f64::from(u8::from(*v == f64::from(*code)))),
                ),
                Output::Target {
                    column,
                    class,
                    means,
                    prior,
                } => {
                    let source = x.column(*column);
                    match (&inner, training) {
                        (Some(inner), Some((y, _))) => {
                            let mut encoded = vec![0.0; x.rows];
                            for fold in 0..INNER_FOLDS {
                                let others = (0..x.rows).filter(|row| inner[*row] != fold);
                                let (means, prior) =
                                    category_means(source, y, others, means.len(), *class);
                                for row in (0..x.rows).filter(|row| inner[*row] == fold) {
                                    encoded[row] = code_of(source[row], means.len())
                                        .map_or(prior, |code| means[code]);
                                }
                            }
                            values.extend(encoded);
                        }
                        _ => {
                            values.extend(source.iter().map(|v| {
                                code_of(*v, means.len()).map_or(*prior, |code| means[code])
                            }))
                        }
                    }
                }
            }
        }
        Matrix {
            values,
            rows: x.rows,
            columns: self.outputs.len(),
        }
    }

    /// The input column each output column comes from (feature importance maps back).
    pub fn sources(&self) -> Vec<usize> {
        self.outputs
            .iter()
            .map(|output| match output {
                Output::Column { column }
                | Output::Indicator { column, .. }
                | Output::Target { column, .. } => *column,
            })
            .collect()
    }
}

/// The columns `kept` of `x`.
pub fn select(x: &Matrix, kept: &[usize]) -> Matrix {
    if kept.len() == x.columns && kept.iter().enumerate().all(|(i, c)| i == *c) {
        return x.clone();
    }
    let mut values = Vec::with_capacity(x.rows * kept.len());
    for column in kept {
        values.extend_from_slice(x.column(*column));
    }
    Matrix {
        values,
        rows: x.rows,
        columns: kept.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, categories: Option<usize>) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            categories,
        }
    }

    #[test]
    fn constant_and_id_like_columns_are_left_out_with_a_warning() {
        let rows = 100;
        let constant = vec![3.0; rows];
        let text_id: Vec<f64> = (0..rows).map(|r| r as f64).collect();
        let row_number: Vec<f64> = (0..rows).map(|r| 1000.0 + r as f64).collect();
        let real: Vec<f64> = (0..rows).map(|r| (r as f64 * 0.37).sin()).collect();
        let category: Vec<f64> = (0..rows).map(|r| (r % 4) as f64).collect();
        let x = Matrix {
            values: [constant, text_id, row_number, real, category].concat(),
            rows,
            columns: 5,
        };
        let columns = [
            info("plan", None),
            info("customer_id", Some(rows)),
            info("row", None),
            info("tenure", None),
            info("contract", Some(4)),
        ];
        let (kept, warnings) = screen(&x, &columns);
        assert_eq!(kept, [3, 4]);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("`plan`: it has a single value"));
        assert!(warnings[1].contains("`customer_id`: 100 different values in 100 rows"));
        assert!(warnings[2].contains("`row`: a different whole number on each"));
    }

    #[test]
    fn linear_encoding_one_hots_few_values_and_target_encodes_many() {
        let rows = 800;
        let few: Vec<f64> = (0..rows).map(|r| (r % 3) as f64).collect();
        let many: Vec<f64> = (0..rows).map(|r| (r % 40) as f64).collect();
        let y: Vec<f64> = (0..rows)
            .map(|r| f64::from(u8::from(r % 40 < 10)))
            .collect();
        let x = Matrix {
            values: [few, many].concat(),
            rows,
            columns: 2,
        };
        let columns = [info("few", Some(3)), info("many", Some(40))];
        let (encoder, train) = Encoder::fit(&x, &y, Task::Binary, &columns, Encoding::Linear, 1);
        // Three indicators and one target column.
        assert_eq!(train.columns, 4);
        assert_eq!(encoder.sources(), [0, 0, 0, 1]);
        let applied = encoder.apply(&x);
        assert_eq!(&applied.column(1)[..4], &[0.0, 1.0, 0.0, 0.0]);
        // Categories 0..10 are all positive: 20 rows each, smoothed toward the prior by 10.
        let prior = 0.25;
        assert!((applied.column(3)[0] - (20.0 + prior * 10.0) / 30.0).abs() < 1e-12);
        assert!((applied.column(3)[20] - prior * 10.0 / 30.0).abs() < 1e-12);
        // Training rows are encoded out of fold: close to, but not exactly, the fitted means.
        assert_ne!(train.column(3), applied.column(3));
        assert!((train.column(3)[0] - applied.column(3)[0]).abs() < 0.2);
        // Trees keep the codes and add the target column for the many-valued one only.
        let (trees, _) = Encoder::fit(&x, &y, Task::Binary, &columns, Encoding::Trees, 1);
        assert_eq!(trees.sources(), [0, 1, 1]);
    }
}
