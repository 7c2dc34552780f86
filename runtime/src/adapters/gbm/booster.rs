//! The boosting loop: losses, base scores, rounds of trees, early stopping on a held-out slice,
//! and prediction.

use crate::random::SplitMix64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::{Binned, Layout};
use super::histogram::Gradient;
use super::tree::{self, GrowParams, LeafRows, Tree};
use crate::features::{Columns, Matrix};

/// Rows per parallel task in per-row loops (gradients, scores).
const ROWS_PER_TASK: usize = 16_384;
/// Rows predicted per parallel task (their values, row-major, stay in the L2 cache).
const PREDICT_BLOCK: usize = 1_024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Binary log loss on a logit score.
    Logistic,
    /// Squared error.
    Squared,
    /// Multiclass log loss on one score per class.
    Softmax,
}

#[derive(Clone, Debug)]
pub struct Params {
    pub rounds: usize,
    pub grow: GrowParams,
    pub max_bins: usize,
    /// Share of rows each tree sees (1.0: all).
    pub subsample: f64,
    pub seed: u64,
    /// Rounds without improvement on the held-out rows before boosting stops.
    pub early_stopping: Option<(usize, HeldOut)>,
    /// Share one byte between exclusive two-valued features (off only in tests).
    pub bundle: bool,
    /// Average bagged trees fit to the label instead of boosting.
    pub random_forest: bool,
    /// Stop adding trees at this instant (after the first round): an AutoML budget.
    pub deadline: Option<std::time::Instant>,
}

/// The rows early stopping watches, which no tree is fit on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HeldOut {
    /// Every n-th row, n the nearest whole number to 1 / share.
    Share(f64),
    /// The last rows: a validation set the caller appended (automl's fold).
    Last(usize),
}

impl Params {
    fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| std::time::Instant::now() >= deadline)
    }
}

/// A trained model: `outputs` scores per row (one per class for softmax), each the base score
/// plus the sum of its trees. Trees are stored round by round, class by class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    pub loss: Loss,
    pub outputs: usize,
    pub features: usize,
    pub base_score: Vec<f64>,
    /// Total split gain per feature.
    pub importance: Vec<f64>,
    pub trees: Vec<Tree>,
}

/// Trains on `x` with labels `y` (0/1, class indices, or values).
pub fn train(
    x: &dyn Columns,
    y: &[f64],
    loss: Loss,
    outputs: usize,
    params: &Params,
) -> anyhow::Result<Booster> {
    let (layout, binned) = Layout::fit(x, params.max_bins, params.bundle)?;
    let (rows_total, features) = (x.rows(), x.width());
    if params.random_forest {
        return Ok(forest(&layout, &binned, y, loss, outputs, features, params));
    }
    let (fit, held_out): (Vec<u32>, Vec<u32>) = match params.early_stopping {
        Some((_, HeldOut::Share(fraction))) => {
            let every = (1.0 / fraction.clamp(0.01, 0.5)).round().max(2.0) as usize;
            (0..rows_total as u32).partition(|row| !(*row as usize).is_multiple_of(every))
        }
        Some((_, HeldOut::Last(count))) => {
            anyhow::ensure!(
                count > 0 && count < rows_total,
                "early stopping needs rows to fit and rows to watch ({count} of {rows_total} held out)"
            );
            (0..rows_total as u32).partition(|row| (*row as usize) < rows_total - count)
        }
        None => ((0..rows_total as u32).collect(), Vec::new()),
    };
    let base_score = base_score(loss, outputs, &fit, y);
    let mut scores: Vec<f64> = (0..rows_total)
        .flat_map(|_| base_score.iter().copied())
        .collect();
    let mut trees = Vec::new();
    let mut gains = Vec::new();
    let mut gradients = vec![[0f32; 2]; rows_total];
    let mut rows = Vec::with_capacity(fit.len());
    let mut scratch = Vec::with_capacity(fit.len());
    let mut in_sample = vec![false; rows_total];
    let mut random = SplitMix64(params.seed);
    let mut best = (f64::INFINITY, 0usize);
    for round in 0..params.rounds {
        for output in 0..outputs {
            fill_gradients(loss, outputs, output, &scores, y, &mut gradients);
            sample(&fit, params.subsample, &mut random, &mut rows);
            let grow = tree_params(&params.grow, &mut random);
            let grown = tree::grow(&layout, &binned, &gradients, &mut rows, &grow, &mut scratch);
            // Sampled rows take their leaf's value; the others walk the tree.
            for leaf in &grown.leaves {
                match leaf {
                    LeafRows::Range { start, end, value } => {
                        for row in &rows[*start..*end] {
                            scores[*row as usize * outputs + output] += value;
                        }
                    }
                    LeafRows::Split {
                        start,
                        end,
                        group,
                        table,
                        left,
                        right,
                    } => {
                        let column = binned.group_column(*group);
                        for row in &rows[*start..*end] {
                            let side = table[column[*row as usize] as usize];
                            scores[*row as usize * outputs + output] +=
                                if side { left } else { right };
                        }
                    }
                }
            }
            if rows.len() < rows_total {
                for row in &rows {
                    in_sample[*row as usize] = true;
                }
                add_out_of_sample(
                    &grown.tree,
                    &layout,
                    &binned,
                    &mut scores,
                    outputs,
                    output,
                    &in_sample,
                );
                for row in &rows {
                    in_sample[*row as usize] = false;
                }
            }
            trees.push(grown.tree);
            gains.push(grown.gains);
        }
        if let Some((patience, _)) = params.early_stopping {
            let loss = held_out_loss(loss, outputs, &held_out, &scores, y);
            if loss < best.0 {
                best = (loss, round + 1);
            } else if round + 1 - best.1 >= patience {
                break;
            }
        }
        if params.past_deadline() {
            break;
        }
    }
    if params.early_stopping.is_some() {
        trees.truncate(best.1 * outputs);
        gains.truncate(best.1 * outputs);
    }
    let mut importance = vec![0.0; features];
    for (feature, gain) in gains.into_iter().flatten() {
        importance[feature] += gain;
    }
    Ok(Booster {
        loss,
        outputs,
        features,
        base_score,
        importance,
        trees,
    })
}

/// A random forest on the same binned rows: per output (the label, or each class's indicator),
/// the mean as the base and `rounds` trees fit to the residual from it, each on a seeded share
/// of the rows, averaged (each tree's leaves scaled by 1 / rounds). The model predicts with
/// squared-error semantics: the average is the probability (or the value).
fn forest(
    layout: &Layout,
    binned: &Binned,
    y: &[f64],
    loss: Loss,
    outputs: usize,
    features: usize,
    params: &Params,
) -> Booster {
    let rows_total = y.len();
    let target = |row: usize, output: usize| match loss {
        Loss::Softmax => f64::from(u8::from(y[row] as usize == output)),
        _ => y[row],
    };
    let all: Vec<u32> = (0..rows_total as u32).collect();
    let base_score: Vec<f64> = (0..outputs)
        .map(|output| {
            (0..rows_total).map(|row| target(row, output)).sum::<f64>() / rows_total.max(1) as f64
        })
        .collect();
    let gradients: Vec<Vec<Gradient>> = (0..outputs)
        .map(|output| {
            (0..rows_total)
                .map(|row| [(base_score[output] - target(row, output)) as f32, 1.0])
                .collect()
        })
        .collect();
    let grow = GrowParams {
        learning_rate: 1.0 / params.rounds.max(1) as f64,
        ..params.grow
    };
    let mut random = SplitMix64(params.seed);
    let (mut rows, mut scratch) = (Vec::new(), Vec::new());
    let (mut trees, mut importance) = (Vec::new(), vec![0.0; features]);
    let mut grown_rounds = 0;
    for _ in 0..params.rounds {
        if grown_rounds > 0 && params.past_deadline() {
            break;
        }
        grown_rounds += 1;
        for gradients in &gradients {
            sample(&all, params.subsample, &mut random, &mut rows);
            let grow = tree_params(&grow, &mut random);
            let grown = tree::grow(layout, binned, gradients, &mut rows, &grow, &mut scratch);
            for (feature, gain) in grown.gains {
                importance[feature] += gain;
            }
            trees.push(grown.tree);
        }
    }
    if grown_rounds < params.rounds {
        // Stopped at the deadline: the trees grown are the average.
        let scale = params.rounds as f64 / grown_rounds.max(1) as f64;
        for tree in &mut trees {
            tree.value.iter_mut().for_each(|value| *value *= scale);
        }
    }
    Booster {
        loss: Loss::Squared,
        outputs,
        features,
        base_score,
        importance,
        trees,
    }
}

/// A tree's growth parameters: its own seed when its splits are randomized (otherwise the
/// generator is left alone, so plain boosting draws the same rows as before).
fn tree_params(grow: &GrowParams, random: &mut SplitMix64) -> GrowParams {
    GrowParams {
        seed: if grow.randomized() {
            random.next_u64()
        } else {
            grow.seed
        },
        ..*grow
    }
}

fn base_score(loss: Loss, outputs: usize, fit: &[u32], y: &[f64]) -> Vec<f64> {
    let rows = fit.len().max(1) as f64;
    match loss {
        Loss::Squared => vec![fit.iter().map(|row| y[*row as usize]).sum::<f64>() / rows],
        Loss::Logistic => {
            let p = (fit.iter().map(|row| y[*row as usize]).sum::<f64>() / rows)
                .clamp(1e-6, 1.0 - 1e-6);
            vec![(p / (1.0 - p)).ln()]
        }
        Loss::Softmax => {
            let mut counts = vec![0.0; outputs];
            for row in fit {
                counts[y[*row as usize] as usize] += 1.0;
            }
            counts
                .into_iter()
                .map(|count| (count / rows).max(1e-6).ln())
                .collect()
        }
    }
}

fn fill_gradients(
    loss: Loss,
    outputs: usize,
    output: usize,
    scores: &[f64],
    y: &[f64],
    gradients: &mut [Gradient],
) {
    gradients
        .par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .for_each(|(task, chunk)| {
            let first = task * ROWS_PER_TASK;
            for (offset, gradient) in chunk.iter_mut().enumerate() {
                let row = first + offset;
                let (g, h) = match loss {
                    Loss::Squared => (scores[row] - y[row], 1.0),
                    Loss::Logistic => {
                        // f32 is the gradients' precision anyway, and its exp is cheaper.
                        let p = 1.0 / (1.0 + (-(scores[row] as f32)).exp());
                        let p = f64::from(p);
                        (p - y[row], (p * (1.0 - p)).max(1e-16))
                    }
                    Loss::Softmax => {
                        let p = softmax(&scores[row * outputs..(row + 1) * outputs])[output];
                        let target = f64::from(u8::from(y[row] as usize == output));
                        (p - target, (p * (1.0 - p)).max(1e-16))
                    }
                };
                *gradient = [g as f32, h as f32];
            }
        });
}

/// The rows a tree sees: all of `fit`, or a seeded share of them (in row order).
fn sample(fit: &[u32], share: f64, random: &mut SplitMix64, rows: &mut Vec<u32>) {
    rows.clear();
    if share >= 1.0 {
        rows.extend_from_slice(fit);
    } else {
        rows.extend(fit.iter().filter(|_| random.unit() < share));
    }
}

fn add_out_of_sample(
    tree: &Tree,
    layout: &Layout,
    binned: &Binned,
    scores: &mut [f64],
    outputs: usize,
    output: usize,
    in_sample: &[bool],
) {
    scores
        .par_chunks_mut(ROWS_PER_TASK * outputs)
        .enumerate()
        .for_each(|(task, chunk)| {
            let first = task * ROWS_PER_TASK;
            for (offset, row_scores) in chunk.chunks_mut(outputs).enumerate() {
                let row = first + offset;
                if !in_sample[row] {
                    row_scores[output] += tree.predict_binned(layout, binned, row);
                }
            }
        });
}

fn held_out_loss(loss: Loss, outputs: usize, rows: &[u32], scores: &[f64], y: &[f64]) -> f64 {
    let total: f64 = rows
        .iter()
        .map(|row| {
            let row = *row as usize;
            match loss {
                Loss::Squared => (scores[row] - y[row]).powi(2),
                Loss::Logistic => {
                    let p = sigmoid(scores[row]).clamp(1e-15, 1.0 - 1e-15);
                    -(y[row] * p.ln() + (1.0 - y[row]) * (1.0 - p).ln())
                }
                Loss::Softmax => {
                    let p = softmax(&scores[row * outputs..(row + 1) * outputs])[y[row] as usize];
                    -p.max(1e-15).ln()
                }
            }
        })
        .sum();
    let mean = total / rows.len().max(1) as f64;
    if loss == Loss::Squared {
        mean.sqrt()
    } else {
        mean
    }
}

impl Booster {
    /// Per row, `outputs` values: the probability of class 1 (logistic), each class's
    /// probability (softmax), or the predicted value (squared).
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let outputs = self.outputs;
        let mut out = vec![0.0; x.rows * outputs];
        out.par_chunks_mut(PREDICT_BLOCK * outputs)
            .enumerate()
            .for_each(|(block, chunk)| {
                // The block's rows, row-major: a tree walk reads one row's values from a few
                // cache lines instead of one line per column of the column-major matrix.
                let first = block * PREDICT_BLOCK;
                let rows = chunk.len() / outputs;
                let mut values = vec![0.0; rows * x.columns];
                for column in 0..x.columns {
                    let source = &x.column(column)[first..first + rows];
                    for (row, value) in source.iter().enumerate() {
                        values[row * x.columns + column] = *value;
                    }
                }
                // Tree by tree over the block: a tree's nodes stay in the L1 cache.
                for row_out in chunk.chunks_mut(outputs) {
                    row_out.copy_from_slice(&self.base_score);
                }
                for (index, tree) in self.trees.iter().enumerate() {
                    let output = index % outputs;
                    for (row, row_values) in values.chunks(x.columns.max(1)).enumerate() {
                        chunk[row * outputs + output] += tree.predict(row_values);
                    }
                }
                for row_out in chunk.chunks_mut(outputs) {
                    match self.loss {
                        Loss::Logistic => row_out[0] = sigmoid(row_out[0]),
                        Loss::Softmax => {
                            let p = softmax(row_out);
                            row_out.copy_from_slice(&p);
                        }
                        // A forest's class shares (f32 leaf sums): non-negative, summing to 1.
                        Loss::Squared if outputs > 1 => {
                            row_out.iter_mut().for_each(|p| *p = p.max(0.0));
                            let total: f64 = row_out.iter().sum();
                            if total > 0.0 {
                                row_out.iter_mut().for_each(|p| *p /= total);
                            }
                        }
                        Loss::Squared => {}
                    }
                }
            });
        out
    }

    /// Total gain per feature, normalised to sum to 1.
    pub fn importance(&self) -> Vec<f64> {
        let total: f64 = self.importance.iter().sum();
        self.importance
            .iter()
            .map(|gain| if total > 0.0 { gain / total } else { 0.0 })
            .collect()
    }
}

fn sigmoid(score: f64) -> f64 {
    1.0 / (1.0 + (-score).exp())
}

fn softmax(scores: &[f64]) -> Vec<f64> {
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(bundle: bool) -> Params {
        Params {
            rounds: 30,
            grow: GrowParams {
                max_depth: 4,
                max_leaves: 12,
                l2: 1.0,
                min_leaf_weight: 1e-3,
                min_samples_leaf: 5,
                learning_rate: 0.2,
                colsample: 1.0,
                extra: false,
                seed: 0,
            },
            max_bins: 32,
            subsample: 1.0,
            seed: 1,
            early_stopping: None,
            bundle,
            random_forest: false,
            deadline: None,
        }
    }

    /// A numeric column, a five-category one-hot block and a numeric column with gaps.
    fn one_hot_data(rows: usize) -> (Matrix, Vec<f64>) {
        let mut columns: Vec<Vec<f64>> = vec![Vec::new(); 7];
        let mut y = Vec::new();
        for row in 0..rows {
            let value = ((row * 37) % 101) as f64;
            let category = (row * 13) % 5;
            columns[0].push(value);
            for (index, column) in columns[1..6].iter_mut().enumerate() {
                column.push(f64::from(u8::from(index == category)));
            }
            columns[6].push(if row % 7 == 0 {
                f64::NAN
            } else {
                (row % 11) as f64
            });
            y.push(f64::from(u8::from(
                value > 50.0 && category != 2 || category == 4,
            )));
        }
        let x = Matrix {
            values: columns.concat(),
            rows,
            columns: 7,
        };
        (x, y)
    }

    #[test]
    fn bundled_one_hot_columns_train_the_same_trees_as_separate_ones() {
        let (x, y) = one_hot_data(2_000);
        let bundled = train(&x, &y, Loss::Logistic, 1, &params(true)).unwrap();
        let separate = train(&x, &y, Loss::Logistic, 1, &params(false)).unwrap();
        assert_eq!(Layout::fit(&x, 32, true).unwrap().0.groups.len(), 3);
        assert_eq!(Layout::fit(&x, 32, false).unwrap().0.groups.len(), 7);
        for (a, b) in bundled.trees.iter().zip(&separate.trees) {
            assert_eq!(a.feature, b.feature);
            assert_eq!(a.threshold, b.threshold);
            for (u, v) in a.value.iter().zip(&b.value) {
                assert!((u - v).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn sampled_features_and_random_thresholds_vary_the_forest_reproducibly() {
        let (x, y) = one_hot_data(2_000);
        let forest = |colsample: f64, extra: bool| Params {
            rounds: 40,
            random_forest: true,
            subsample: 0.632,
            grow: GrowParams {
                max_depth: 6,
                max_leaves: 64,
                colsample,
                extra,
                ..params(true).grow
            },
            ..params(true)
        };
        let roots = |booster: &Booster| -> std::collections::BTreeSet<i32> {
            booster.trees.iter().map(|tree| tree.feature[0]).collect()
        };
        // Every feature at every node: every tree splits first on the best one.
        let plain = train(&x, &y, Loss::Logistic, 1, &forest(1.0, false)).unwrap();
        assert_eq!(roots(&plain).len(), 1);
        // A third of the features per node: the roots spread over several.
        let sampled = train(&x, &y, Loss::Logistic, 1, &forest(0.3, false)).unwrap();
        assert!(roots(&sampled).len() >= 3, "{:?}", roots(&sampled));
        // Random thresholds: the same root feature splits at different values.
        let extra = train(&x, &y, Loss::Logistic, 1, &forest(1.0, true)).unwrap();
        let thresholds: std::collections::BTreeSet<u64> = extra
            .trees
            .iter()
            .filter(|tree| tree.feature[0] == 0)
            .map(|tree| tree.threshold[0].to_bits())
            .collect();
        assert!(thresholds.len() >= 3, "{thresholds:?}");
        // Still a model of the label, and the same seed grows the same trees.
        for (booster, params) in [(&sampled, forest(0.3, false)), (&extra, forest(1.0, true))] {
            let p = booster.predict(&x);
            assert!(crate::metrics::roc_auc(&y, &p).unwrap() > 0.9);
            assert_eq!(&train(&x, &y, Loss::Logistic, 1, &params).unwrap(), booster);
        }
    }

    #[test]
    fn trees_send_raw_and_binned_rows_the_same_way() {
        let (x, y) = one_hot_data(1_500);
        let (layout, binned) = Layout::fit(&x, 32, true).unwrap();
        let booster = train(&x, &y, Loss::Logistic, 1, &params(true)).unwrap();
        for tree in &booster.trees {
            for row in 0..x.rows {
                let values: Vec<f64> = (0..x.columns).map(|column| x.column(column)[row]).collect();
                assert_eq!(
                    tree.predict(&values),
                    tree.predict_binned(&layout, &binned, row)
                );
            }
        }
    }
}
