//! The search: folds, cross-validated out-of-fold predictions per candidate, the leaderboard
//! metric, and Caruana's greedy ensemble selection over the out-of-fold predictions.

use mbt_contract::frameworks::H2oSortMetric;

use crate::adapters::Task;
use crate::features::Matrix;
use crate::metrics;
use crate::random::SplitMix64;

/// The rows of each class in order (one group of every row for regression): what folds and
/// samples are stratified by.
fn class_groups(y: &[f64], task: Task) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = match task {
        Task::Regression => return vec![(0..y.len()).collect()],
        Task::Binary => vec![Vec::new(); 2],
        Task::Multiclass(classes) => vec![Vec::new(); classes],
    };
    for (row, label) in y.iter().enumerate() {
        let class = (*label as usize).min(groups.len() - 1);
        groups[class].push(row);
    }
    groups
}

/// The fold of each row: `folds` folds (stratified by class for classification), or with
/// `folds == 0` one 20% hold-out (fold 0) and the rest (fold 1, never scored).
pub fn assign_folds(y: &[f64], task: Task, folds: usize, seed: u64) -> (Vec<usize>, usize) {
    let mut rng = SplitMix64(seed);
    let (count, holdout) = if folds == 0 {
        (5, true)
    } else {
        (folds, false)
    };
    let mut fold_of = vec![0usize; y.len()];
    let mut groups = class_groups(y, task);
    // Rows of each class dealt round-robin after a shuffle, continuing across classes so that
    // small classes do not all land in fold 0.
    let mut next = 0usize;
    for group in &mut groups {
        rng.shuffle(group);
        for row in group.iter() {
            fold_of[*row] = next % count;
            next += 1;
        }
    }
    if holdout {
        for fold in &mut fold_of {
            *fold = usize::from(*fold != 0);
        }
        return (fold_of, 1);
    }
    (fold_of, count)
}

/// A sample of `count` rows (stratified by class for classification: each class keeps its
/// share, and at least one row), in their original order.
pub fn sample_rows(y: &[f64], task: Task, count: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64(seed ^ 0x5A3D_17E5);
    let mut groups = class_groups(y, task);
    let share = count as f64 / y.len().max(1) as f64;
    let mut rows = Vec::with_capacity(count + groups.len());
    for group in &mut groups {
        rng.shuffle(group);
        let take = ((group.len() as f64 * share).round() as usize).clamp(1, group.len().max(1));
        rows.extend(group.iter().take(take));
    }
    rows.sort_unstable();
    rows
}

/// The rows of `x` (and of `y`) whose fold is (or is not) `fold`.
pub fn split(
    x: &Matrix,
    y: &[f64],
    fold_of: &[usize],
    fold: usize,
    inside: bool,
) -> (Matrix, Vec<f64>, Vec<usize>) {
    let rows: Vec<usize> = (0..x.rows)
        .filter(|row| (fold_of[*row] == fold) == inside)
        .collect();
    (
        take_rows(x, &rows),
        rows.iter().map(|row| y[*row]).collect(),
        rows,
    )
}

/// The given rows of a column-major matrix.
pub fn take_rows(x: &Matrix, rows: &[usize]) -> Matrix {
    let mut values = Vec::with_capacity(rows.len() * x.columns);
    for column in 0..x.columns {
        let source = x.column(column);
        values.extend(rows.iter().map(|row| source[*row]));
    }
    Matrix {
        values,
        rows: rows.len(),
        columns: x.columns,
    }
}

/// The rows of `top` followed by the rows of `bottom` (same columns).
pub fn stack_rows(top: &Matrix, bottom: &Matrix) -> Matrix {
    let mut values = Vec::with_capacity(top.values.len() + bottom.values.len());
    for column in 0..top.columns {
        values.extend_from_slice(top.column(column));
        values.extend_from_slice(bottom.column(column));
    }
    Matrix {
        values,
        rows: top.rows + bottom.rows,
        columns: top.columns,
    }
}

/// The leaderboard metric of a task when the config names none (H2O's defaults).
pub fn default_metric(task: Task) -> H2oSortMetric {
    match task {
        Task::Binary => H2oSortMetric::Auc,
        Task::Multiclass(_) => H2oSortMetric::Logloss,
        Task::Regression => H2oSortMetric::Rmse,
    }
}

/// Whether a larger value of `metric` is better.
pub fn higher_is_better(metric: H2oSortMetric) -> bool {
    matches!(metric, H2oSortMetric::Auc | H2oSortMetric::Aucpr)
}

/// `metric` of `predictions` (the framework's scores: positive-class probabilities, row-major
/// class probabilities, or values) against `y`, over `rows` only.
pub fn score(metric: H2oSortMetric, task: Task, y: &[f64], predictions: &[f64]) -> f64 {
    match task {
        Task::Binary => match metric {
            H2oSortMetric::Auc => metrics::roc_auc(y, predictions).unwrap_or(0.5),
            H2oSortMetric::Aucpr => metrics::pr_auc(y, predictions).unwrap_or(0.0),
            H2oSortMetric::Logloss => metrics::log_loss(y, predictions),
            H2oSortMetric::MeanPerClassError => {
                let labels: Vec<usize> = y.iter().map(|v| *v as usize).collect();
                let probabilities: Vec<f64> =
                    predictions.iter().flat_map(|p| [1.0 - p, *p]).collect();
                mean_per_class_error(&labels, &probabilities, 2)
            }
            _ => squared_error(y, predictions).sqrt(),
        },
        Task::Multiclass(classes) => {
            let labels: Vec<usize> = y.iter().map(|v| *v as usize).collect();
            match metric {
                H2oSortMetric::MeanPerClassError => {
                    mean_per_class_error(&labels, predictions, classes)
                }
                H2oSortMetric::Rmse | H2oSortMetric::Mse => {
                    // H2O's multiclass MSE: 1 - p(true class), squared.
                    let mse = labels
                        .iter()
                        .enumerate()
                        .map(|(row, label)| (1.0 - predictions[row * classes + label]).powi(2))
                        .sum::<f64>()
                        / labels.len().max(1) as f64;
                    if metric == H2oSortMetric::Rmse {
                        mse.sqrt()
                    } else {
                        mse
                    }
                }
                _ => metrics::multiclass(&labels, predictions, classes).2,
            }
        }
        Task::Regression => match metric {
            H2oSortMetric::Mae => {
                y.iter()
                    .zip(predictions)
                    .map(|(a, b)| (a - b).abs())
                    .sum::<f64>()
                    / y.len().max(1) as f64
            }
            H2oSortMetric::Mse | H2oSortMetric::Deviance => squared_error(y, predictions),
            H2oSortMetric::Rmsle => {
                let log = |v: f64| (v.max(-1.0 + 1e-12) + 1.0).ln();
                (y.iter()
                    .zip(predictions)
                    .map(|(a, b)| (log(*a) - log(*b)).powi(2))
                    .sum::<f64>()
                    / y.len().max(1) as f64)
                    .sqrt()
            }
            _ => squared_error(y, predictions).sqrt(),
        },
    }
}

fn squared_error(y: &[f64], predictions: &[f64]) -> f64 {
    y.iter()
        .zip(predictions)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / y.len().max(1) as f64
}

fn mean_per_class_error(labels: &[usize], probabilities: &[f64], classes: usize) -> f64 {
    let predicted = metrics::argmax_rows(probabilities, classes);
    let mut errors = 0.0;
    let mut present = 0.0;
    for class in 0..classes {
        let total = labels.iter().filter(|l| **l == class).count();
        if total == 0 {
            continue;
        }
        let wrong = labels
            .iter()
            .zip(&predicted)
            .filter(|(l, p)| **l == class && **p != class)
            .count();
        errors += wrong as f64 / total as f64;
        present += 1.0;
    }
    errors / f64::max(present, 1.0)
}

/// Caruana's ensemble selection: `rounds` greedy steps, each adding (with replacement) the
/// model whose addition scores best; the weights are the counts. Returns the weights and the
/// ensemble's score.
pub fn ensemble_selection(
    oof: &[&[f64]],
    y: &[f64],
    task: Task,
    metric: H2oSortMetric,
    rounds: usize,
) -> (Vec<f64>, f64) {
    let better = |a: f64, b: f64| {
        if higher_is_better(metric) {
            a > b + 1e-12
        } else {
            a < b - 1e-12
        }
    };
    let width = oof.first().map_or(0, |first| first.len());
    let mut sum = vec![0.0; width];
    let mut counts = vec![0usize; oof.len()];
    let mut best_score = if higher_is_better(metric) {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    // Every round adds the member that helps most (or hurts least), with replacement; the blend
    // kept is the best seen, so a round that helps only after one that did not still counts.
    let mut best_counts = counts.clone();
    for step in 0..rounds {
        let mut choice: Option<(usize, f64)> = None;
        for (index, predictions) in oof.iter().enumerate() {
            let blended: Vec<f64> = sum
                .iter()
                .zip(predictions.iter())
                .map(|(total, p)| (total + p) / (step + 1) as f64)
                .collect();
            let value = score(metric, task, y, &blended);
            if choice.is_none_or(|(_, best)| better(value, best)) {
                choice = Some((index, value));
            }
        }
        let Some((index, value)) = choice else { break };
        counts[index] += 1;
        for (total, p) in sum.iter_mut().zip(oof[index].iter()) {
            *total += p;
        }
        if step == 0 || better(value, best_score) {
            best_score = value;
            best_counts.clone_from(&counts);
        }
    }
    let total: usize = best_counts.iter().sum();
    let weights = best_counts
        .iter()
        .map(|count| *count as f64 / total.max(1) as f64)
        .collect();
    (weights, best_score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_keeps_each_class_in_its_share_and_the_rows_in_order() {
        // 1,000 rows, one in ten positive.
        let y: Vec<f64> = (0..1_000)
            .map(|row| f64::from(u8::from(row % 10 == 0)))
            .collect();
        let rows = sample_rows(&y, Task::Binary, 200, 7);
        assert_eq!(rows.len(), 200);
        assert!(rows.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(rows.iter().filter(|row| y[**row] == 1.0).count(), 20);
        // The same seed, the same rows; another seed, others.
        assert_eq!(sample_rows(&y, Task::Binary, 200, 7), rows);
        assert_ne!(sample_rows(&y, Task::Binary, 200, 8), rows);
        // A class too small for its share keeps a row.
        let mut rare = vec![0.0; 1_000];
        rare[500] = 1.0;
        let rows = sample_rows(&rare, Task::Binary, 100, 7);
        assert!(rows.contains(&500), "{rows:?}");
        // Regression samples the rows as one group.
        assert_eq!(sample_rows(&y, Task::Regression, 300, 7).len(), 300);
    }

    #[test]
    fn folds_are_stratified_balanced_and_repeat_for_a_seed() {
        let y: Vec<f64> = (0..100).map(|i| f64::from(u8::from(i % 10 == 0))).collect();
        let (folds, count) = assign_folds(&y, Task::Binary, 5, 7);
        assert_eq!(count, 5);
        for fold in 0..5 {
            let rows: Vec<usize> = (0..100).filter(|r| folds[*r] == fold).collect();
            assert_eq!(rows.len(), 20);
            assert_eq!(rows.iter().filter(|r| y[**r] == 1.0).count(), 2);
        }
        assert_eq!(assign_folds(&y, Task::Binary, 5, 7).0, folds);
        assert_ne!(assign_folds(&y, Task::Binary, 5, 8).0, folds);
        let (holdout, count) = assign_folds(&y, Task::Binary, 0, 7);
        assert_eq!(count, 1);
        assert_eq!(holdout.iter().filter(|f| **f == 0).count(), 20);
    }

    #[test]
    fn ensemble_selection_keeps_going_past_a_round_that_does_not_help() {
        // A alone is off by +0.2; A + B by -0.25 (worse), but 2A + B by -0.1 (better): the
        // second round adds nothing, the third finds the blend.
        let y = [0.0; 4];
        let (a, b) = ([0.2; 4], [-0.7; 4]);
        let (weights, value) =
            ensemble_selection(&[&a, &b], &y, Task::Regression, H2oSortMetric::Rmse, 3);
        assert!((weights[0] - 2.0 / 3.0).abs() < 1e-12, "{weights:?}");
        assert!((value - 0.1).abs() < 1e-12, "{value}");
    }

    #[test]
    fn ensemble_selection_blends_complementary_models() {
        let y = [0.0, 0.0, 1.0, 1.0];
        // Each model ranks one pair wrong; their average ranks every pair right.
        let a = [0.1, 0.6, 0.5, 0.9];
        let b = [0.1, 0.6, 0.9, 0.5];
        let c = [0.5, 0.5, 0.5, 0.5];
        let (weights, auc) =
            ensemble_selection(&[&a, &b, &c], &y, Task::Binary, H2oSortMetric::Auc, 10);
        assert_eq!(score(H2oSortMetric::Auc, Task::Binary, &y, &a), 0.75);
        assert_eq!(auc, 1.0);
        assert_eq!(weights, [0.5, 0.5, 0.0]);
    }

    #[test]
    fn metrics_follow_h2os_definitions() {
        let y = [0.0, 1.0, 2.0];
        let p = [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.5, 0.4, 0.1];
        let task = Task::Multiclass(3);
        assert!((score(H2oSortMetric::MeanPerClassError, task, &y, &p) - 1.0 / 3.0).abs() < 1e-12);
        let mse = (0.2f64.powi(2) + 0.3f64.powi(2) + 0.9f64.powi(2)) / 3.0;
        assert!((score(H2oSortMetric::Mse, task, &y, &p) - mse).abs() < 1e-12);
        let regression = score(
            H2oSortMetric::Rmse,
            Task::Regression,
            &[1.0, 3.0],
            &[2.0, 3.0],
        );
        assert!((regression - 0.5f64.sqrt()).abs() < 1e-12);
        assert!(higher_is_better(H2oSortMetric::Auc));
        assert!(!higher_is_better(H2oSortMetric::Logloss));
    }
}
