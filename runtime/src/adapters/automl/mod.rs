//! `automl`: MBT's own AutoML over the runtime's engines, with H2O AutoML's keys.
//!
//! The candidates ([`portfolio`]) are cross-validated on the same folds ([`search`]): each fold's
//! model predicts the rows it did not see, and the leaderboard ranks the candidates by the
//! metric of those out-of-fold predictions. Caruana's greedy selection then blends the best
//! candidates' out-of-fold predictions; the blend is kept only when it beats the best single
//! model. The winner's members are refit on every row. The time budget covers the whole search
//! and the refit: a candidate starts only when its expected time (the last one's) and the
//! refit's still fit. The model is the members (each a gbm or smartcore model, with its feature
//! scaling) with their weights, plus the leaderboard.

mod portfolio;
mod search;

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mbt_contract::frameworks::{AutomlConfig, FrameworkConfig, H2oAlgo};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use self::portfolio::Candidate;
use self::search::{higher_is_better, score};
use super::{Adapter, Framework, LeaderboardRow, SerializedModel, Task};
use crate::error::{coded, Code};
use crate::features::{Columns, Matrix};

const FORMAT_VERSION: u32 = 1;
/// Greedy steps of the ensemble selection.
const ENSEMBLE_ROUNDS: usize = 25;
/// How many of the best candidates the ensemble may blend.
const ENSEMBLE_POOL: usize = 8;

pub struct Automl;

/// Per-column standardization of a linear or k-NN member (missing values become the mean).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Scaling {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Scaling {
    fn fit(x: &Matrix) -> Scaling {
        let (mut mean, mut scale) = (Vec::new(), Vec::new());
        for column in 0..x.columns {
            let values: Vec<f64> = x
                .column(column)
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let n = values.len().max(1) as f64;
            let m = values.iter().sum::<f64>() / n;
            let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
            mean.push(m);
            scale.push(if var > 1e-24 { var.sqrt() } else { 1.0 });
        }
        Scaling { mean, scale }
    }

    fn apply(&self, x: &Matrix) -> Matrix {
        let mut values = Vec::with_capacity(x.values.len());
        for column in 0..x.columns {
            let (m, s) = (self.mean[column], self.scale[column]);
            values.extend(x.column(column).iter().map(|v| {
                if v.is_finite() {
                    (v - m) / s
                } else {
                    0.0
                }
            }));
        }
        Matrix {
            values,
            rows: x.rows,
            columns: x.columns,
        }
    }
}

/// One model of the final blend.
#[derive(Serialize, Deserialize)]
struct Member {
    model_id: String,
    weight: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scaling: Option<Scaling>,
    model: SerializedModel,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    task: String,
    classes: usize,
    columns: usize,
    metric: String,
    leader: String,
    leaderboard: Vec<LeaderboardRow>,
    members: Vec<Member>,
    importances: Vec<f64>,
}

fn automl_config(config: &FrameworkConfig) -> anyhow::Result<&AutomlConfig> {
    match config {
        FrameworkConfig::Automl(config) => Ok(config),
        other => bail!("automl cannot train with a `{}` config", other.name()),
    }
}

fn metric_name(metric: mbt_contract::frameworks::H2oSortMetric) -> String {
    serde_json::to_value(metric)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The engine of framework `name` (a candidate's config, or a member's model).
fn engine(name: &str) -> anyhow::Result<Box<dyn Framework>> {
    match name {
        "gbm" => Ok(Box::new(super::gbm::Gbm)),
        "smartcore" => Ok(Box::new(super::smartcore::Smartcore)),
        other => bail!("automl has no engine `{other}`"),
    }
}

/// Duplicates rows of the smaller classes (cycling through them in order) until every class
/// has as many rows as the largest: `balance_classes` for engines without sample weights.
fn balanced(x: &Matrix, y: &[f64], task: Task) -> (Matrix, Vec<f64>) {
    let classes = match task {
        Task::Binary => 2,
        Task::Multiclass(classes) => classes,
        Task::Regression => return (x.clone(), y.to_vec()),
    };
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (row, label) in y.iter().enumerate() {
        by_class[(*label as usize).min(classes - 1)].push(row);
    }
    let largest = by_class.iter().map(Vec::len).max().unwrap_or(0);
    let mut rows: Vec<usize> = (0..y.len()).collect();
    for members in by_class.iter().filter(|m| !m.is_empty()) {
        rows.extend(members.iter().cycle().take(largest - members.len()));
    }
    (
        search::take_rows(x, &rows),
        rows.iter().map(|row| y[*row]).collect(),
    )
}

/// Fits a candidate on `x`/`y`: the engine's model and the scaling it needs.
fn fit(
    candidate: &Candidate,
    x: &Matrix,
    y: &[f64],
    task: Task,
    balance: bool,
) -> anyhow::Result<(SerializedModel, Option<Scaling>)> {
    let engine = engine(candidate.config.name())?;
    let (x, y) = if balance {
        balanced(x, y, task)
    } else {
        (x.clone(), y.to_vec())
    };
    let scaling = candidate.scaled.then(|| Scaling::fit(&x));
    let x = match &scaling {
        Some(scaling) => scaling.apply(&x),
        None => x,
    };
    let model = engine.train(&x, &y, task, &candidate.config)?;
    Ok((model, scaling))
}

fn predict_with(
    model: &SerializedModel,
    scaling: Option<&Scaling>,
    x: &Matrix,
) -> anyhow::Result<Vec<f64>> {
    let engine = engine(&model.framework)?;
    match scaling {
        Some(scaling) => engine.predict(model, &scaling.apply(x)),
        None => engine.predict(model, x),
    }
}

/// A cross-validated candidate: its row, its out-of-fold predictions (row-major per row).
struct Evaluated {
    row: LeaderboardRow,
    candidate: Candidate,
    oof: Vec<f64>,
    /// Seconds the whole cross-validation took (the next candidate's estimate).
    seconds: f64,
}

/// What every candidate is cross-validated on.
struct Folds<'a> {
    x: &'a Matrix,
    y: &'a [f64],
    task: Task,
    fold_of: Vec<usize>,
    count: usize,
    /// The rows whose out-of-fold predictions are scored (every row, or the hold-out).
    scored: Vec<usize>,
    metric: mbt_contract::frameworks::H2oSortMetric,
    balance: bool,
}

/// One fold of a candidate: the rows it predicted, their predictions, fit seconds and
/// prediction milliseconds per 1,000 rows.
struct FoldResult {
    rows: Vec<usize>,
    predictions: Vec<f64>,
    fit_seconds: f64,
    predict_ms: f64,
}

impl Folds<'_> {
    fn width(&self) -> usize {
        match self.task {
            Task::Multiclass(classes) => classes,
            _ => 1,
        }
    }

    fn fold(&self, candidate: &Candidate, fold: usize) -> anyhow::Result<FoldResult> {
        let (train_x, train_y, _) = search::split(self.x, self.y, &self.fold_of, fold, false);
        let (valid_x, _, rows) = search::split(self.x, self.y, &self.fold_of, fold, true);
        let fit_started = Instant::now();
        let (model, scaling) = fit(candidate, &train_x, &train_y, self.task, self.balance)?;
        let fit_seconds = fit_started.elapsed().as_secs_f64();
        let predict_started = Instant::now();
        let predictions = predict_with(&model, scaling.as_ref(), &valid_x)?;
        let predict_ms = predict_started.elapsed().as_secs_f64() * 1e6 / rows.len().max(1) as f64;
        Ok(FoldResult {
            rows,
            predictions,
            fit_seconds,
            predict_ms,
        })
    }

    /// Cross-validates `candidate`; the folds run in parallel.
    fn evaluate(&self, candidate: &Candidate) -> anyhow::Result<Evaluated> {
        let started = Instant::now();
        let width = self.width();
        let results: Vec<anyhow::Result<FoldResult>> = (0..self.count)
            .into_par_iter()
            .map(|fold| self.fold(candidate, fold))
            .collect();
        let mut oof = vec![f64::NAN; self.y.len() * width];
        let (mut fit_total, mut predict_total) = (0.0, 0.0);
        let mut fold_scores = Vec::new();
        for result in results {
            let fold = result?;
            fit_total += fold.fit_seconds;
            predict_total += fold.predict_ms;
            let fold_y: Vec<f64> = fold.rows.iter().map(|row| self.y[*row]).collect();
            fold_scores.push(score(self.metric, self.task, &fold_y, &fold.predictions));
            for (index, row) in fold.rows.iter().enumerate() {
                oof[row * width..(row + 1) * width]
                    .copy_from_slice(&fold.predictions[index * width..(index + 1) * width]);
            }
        }
        let scored_y: Vec<f64> = self.scored.iter().map(|row| self.y[*row]).collect();
        let value = score(
            self.metric,
            self.task,
            &scored_y,
            &gather_rows(&oof, &self.scored, width),
        );
        let mean = fold_scores.iter().sum::<f64>() / fold_scores.len().max(1) as f64;
        let std = (fold_scores.len() > 1).then(|| {
            (fold_scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>()
                / (fold_scores.len() - 1) as f64)
                .sqrt()
        });
        let folds = self.count.max(1) as f64;
        Ok(Evaluated {
            row: LeaderboardRow {
                model_id: candidate.id.clone(),
                algorithm: candidate.algorithm.to_string(),
                params: candidate.params(),
                metric: metric_name(self.metric),
                score: value,
                std,
                fit_seconds: fit_total / folds,
                predict_ms_per_1k: predict_total / folds,
            },
            candidate: candidate.clone(),
            oof,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

fn gather_rows(values: &[f64], rows: &[usize], width: usize) -> Vec<f64> {
    rows.iter()
        .flat_map(|row| values[row * width..(row + 1) * width].iter().copied())
        .collect()
}

impl Adapter for Automl {}

impl Framework for Automl {
    fn validate_config(&self, config: &FrameworkConfig, task: Task) -> anyhow::Result<()> {
        super::check_sort_metric(automl_config(config)?.sort_metric, task)
    }

    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel> {
        let started = Instant::now();
        let config = automl_config(config)?;
        let budget = match (config.max_runtime_secs, config.max_models) {
            (Some(seconds), _) => Some(Duration::from_secs(seconds.into())),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(
                super::AUTOML_DEFAULT_BUDGET_SECS.into(),
            )),
        };
        let matrix = Matrix::gather(x)?.into_owned();
        anyhow::ensure!(matrix.rows >= 2, "automl needs at least 2 rows to train on");
        let seed = config.seed.unwrap_or(42);
        let metric = config
            .sort_metric
            .unwrap_or_else(|| search::default_metric(task));
        let balance = config.balance_classes.unwrap_or(false) && task != Task::Regression;
        // A fold must hold rows of every class: tiny tables get fewer folds (or a hold-out).
        let mut folds = config.nfolds.unwrap_or(5) as usize;
        if task != Task::Regression {
            let mut counts = std::collections::BTreeMap::new();
            for label in y {
                *counts.entry(*label as usize).or_insert(0usize) += 1;
            }
            let smallest = counts.values().copied().min().unwrap_or(0);
            if folds > 0 && smallest < folds {
                folds = if smallest >= 2 { smallest } else { 0 };
            }
        }
        folds = folds.min(matrix.rows);
        let (fold_of, count) = search::assign_folds(y, task, folds, seed);
        let scored: Vec<usize> = if folds == 0 {
            (0..y.len()).filter(|row| fold_of[*row] == 0).collect()
        } else {
            (0..y.len()).collect()
        };
        let search = Folds {
            x: &matrix,
            y,
            task,
            fold_of,
            count,
            scored,
            metric,
            balance,
        };

        let candidates = portfolio::candidates(config, task, matrix.rows);
        let mut evaluated: Vec<Evaluated> = Vec::new();
        let mut failures = Vec::new();
        for candidate in &candidates {
            if let Some(budget) = budget.filter(|_| !evaluated.is_empty()) {
                // The next candidate costs its relative cost times the most any candidate so
                // far took per unit of cost; the refit about the fits of the three best so far
                // (an ensemble rarely has more members), each on every row.
                let per_unit = evaluated
                    .iter()
                    .map(|e| e.seconds / e.candidate.cost)
                    .fold(0.0, f64::max);
                let mut fits: Vec<f64> = evaluated.iter().map(|e| e.row.fit_seconds).collect();
                fits.sort_by(|a, b| b.total_cmp(a));
                let refit = fits.iter().take(3).sum::<f64>() * 1.25;
                let expected = started.elapsed().as_secs_f64() + per_unit * candidate.cost + refit;
                if expected > budget.as_secs_f64() * 0.9 {
                    break;
                }
            }
            match search.evaluate(candidate) {
                Ok(result) => evaluated.push(result),
                Err(error) => failures.push(format!("{}: {error:#}", candidate.id)),
            }
        }
        if evaluated.is_empty() {
            return Err(coded(
                Code::AutomlNoModel,
                format!(
                    "automl found no model: {}",
                    if candidates.is_empty() {
                        "include_algos/exclude_algos leave no candidate".to_string()
                    } else {
                        failures.join("; ")
                    }
                ),
                "include GBM or GLM in `include_algos`, or check the training data",
            ));
        }
        let higher = higher_is_better(metric);
        evaluated.sort_by(|a, b| {
            let order = a.row.score.total_cmp(&b.row.score);
            if higher {
                order.reverse()
            } else {
                order
            }
        });
        let mut leaderboard: Vec<LeaderboardRow> =
            evaluated.iter().map(|e| e.row.clone()).collect();

        // The ensemble, when allowed and it beats the best single model.
        let width = search.width();
        let scored = &search.scored;
        let scored_y: Vec<f64> = scored.iter().map(|row| y[*row]).collect();
        let mut weights: Vec<(usize, f64)> = vec![(0, 1.0)];
        // As in H2O: with `include_algos`, the ensemble only when it is listed.
        let ensemble_allowed = portfolio::allowed(config, Some(H2oAlgo::StackedEnsemble));
        if evaluated.len() > 1 && ensemble_allowed {
            let pool: Vec<Vec<f64>> = evaluated
                .iter()
                .take(ENSEMBLE_POOL)
                .map(|e| gather_rows(&e.oof, scored, width))
                .collect();
            let views: Vec<&[f64]> = pool.iter().map(Vec::as_slice).collect();
            let (blend, value) =
                search::ensemble_selection(&views, &scored_y, task, metric, ENSEMBLE_ROUNDS);
            let best = evaluated[0].row.score;
            let wins = if higher {
                value > best + 1e-9
            } else {
                value < best - 1e-9
            };
            let used: Vec<(usize, f64)> = blend
                .iter()
                .enumerate()
                .filter(|(_, weight)| **weight > 0.0)
                .map(|(index, weight)| (index, *weight))
                .collect();
            if wins && used.len() > 1 {
                let parts: Vec<String> = used
                    .iter()
                    .map(|(index, weight)| {
                        format!("{}:{weight:.2}", evaluated[*index].row.model_id)
                    })
                    .collect();
                leaderboard.insert(
                    0,
                    LeaderboardRow {
                        model_id: "StackedEnsemble_1".into(),
                        algorithm: "StackedEnsemble".into(),
                        params: serde_json::json!({"members": parts}),
                        metric: metric_name(metric),
                        score: value,
                        std: None,
                        fit_seconds: used
                            .iter()
                            .map(|(index, _)| evaluated[*index].row.fit_seconds)
                            .sum(),
                        predict_ms_per_1k: used
                            .iter()
                            .map(|(index, _)| evaluated[*index].row.predict_ms_per_1k)
                            .sum(),
                    },
                );
                weights = used;
            }
        }

        // The refit on every row.
        let mut members = Vec::new();
        for (index, weight) in &weights {
            let candidate = &evaluated[*index].candidate;
            let (model, scaling) = fit(candidate, &matrix, y, task, balance)
                .with_context(|| format!("refitting {} on every row", candidate.id))?;
            members.push(Member {
                model_id: candidate.id.clone(),
                weight: *weight,
                scaling,
                model,
            });
        }
        let mut importances = vec![0.0; matrix.columns];
        for member in &members {
            let shares = engine(&member.model.framework)?
                .feature_importance(&member.model, matrix.columns)
                .unwrap_or_else(|_| vec![1.0 / matrix.columns.max(1) as f64; matrix.columns]);
            for (total, share) in importances.iter_mut().zip(shares) {
                *total += member.weight * share;
            }
        }
        let sum: f64 = importances.iter().sum();
        if sum > 0.0 && sum.is_finite() {
            importances.iter_mut().for_each(|share| *share /= sum);
        }
        let (task_name, classes) = task.spec();
        let payload = Payload {
            task: task_name.into(),
            classes,
            columns: matrix.columns,
            metric: metric_name(metric),
            leader: leaderboard[0].model_id.clone(),
            leaderboard,
            members,
            importances,
        };
        Ok(SerializedModel::json(
            "automl",
            FORMAT_VERSION,
            serde_json::to_string(&payload)?,
        ))
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        let payload = load(model)?;
        anyhow::ensure!(
            payload.columns == x.columns,
            "the automl model was trained on {} features, the input has {}",
            payload.columns,
            x.columns
        );
        let mut out: Vec<f64> = Vec::new();
        for member in &payload.members {
            let predictions = predict_with(&member.model, member.scaling.as_ref(), x)?;
            if out.is_empty() {
                out = predictions.iter().map(|p| p * member.weight).collect();
            } else {
                for (total, p) in out.iter_mut().zip(&predictions) {
                    *total += p * member.weight;
                }
            }
        }
        Ok(out)
    }

    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let mut importances = load(model)?.importances;
        importances.resize(columns, 0.0);
        Ok(importances)
    }

    fn leaderboard(&self, model: &SerializedModel) -> Option<Vec<LeaderboardRow>> {
        load(model).ok().map(|payload| payload.leaderboard)
    }
}

fn load(model: &SerializedModel) -> anyhow::Result<Payload> {
    anyhow::ensure!(
        model.framework == "automl" && model.format_version == FORMAT_VERSION,
        "model was saved by {} format {}, this runtime reads automl format {FORMAT_VERSION}",
        model.framework,
        model.format_version
    );
    serde_json::from_str(&model.payload).context("cannot load the automl model")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;
    use mbt_contract::frameworks::H2oSortMetric;
    use serde_json::{json, Value};

    fn config(value: Value) -> FrameworkConfig {
        FrameworkConfig::Automl(serde_json::from_value(value).unwrap())
    }

    /// `rows` rows of two informative columns and a noise column; the label depends on the
    /// first two (binary, three classes, or a value).
    fn table(rows: usize, task: Task) -> (Matrix, Vec<f64>) {
        let mut rng = crate::random::SplitMix64(3);
        let mut uniform = || rng.unit();
        let (mut a, mut b, mut c, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rows {
            let (x1, x2, noise) = (uniform(), uniform(), uniform());
            let signal = x1 + 0.5 * x2 + 0.3 * noise;
            y.push(match task {
                Task::Binary => f64::from(u8::from(signal > 0.9)),
                Task::Multiclass(_) => (signal / 0.6).floor().min(2.0),
                Task::Regression => 3.0 * x1 - x2 + 0.1 * noise,
            });
            a.push(x1);
            b.push(x2);
            c.push(if noise < 0.1 { f64::NAN } else { noise });
        }
        let values = [a, b, c].concat();
        (
            Matrix {
                values,
                rows,
                columns: 3,
            },
            y,
        )
    }

    #[test]
    fn every_task_trains_and_predicts_in_its_own_terms() {
        for task in [Task::Binary, Task::Multiclass(3), Task::Regression] {
            let (x, y) = table(300, task);
            let model = Automl
                .train(&x, &y, task, &config(json!({"max_models": 2, "nfolds": 3})))
                .unwrap();
            let predictions = Automl.predict(&model, &x).unwrap();
            let payload = load(&model).unwrap();
            match task {
                Task::Binary => {
                    assert_eq!(payload.metric, "AUC");
                    assert!(metrics::roc_auc(&y, &predictions).unwrap() > 0.9);
                }
                Task::Multiclass(classes) => {
                    assert_eq!(payload.metric, "logloss");
                    assert_eq!(predictions.len(), 300 * classes);
                    let sums = predictions
                        .chunks(classes)
                        .map(|row| row.iter().sum::<f64>());
                    assert!(sums.into_iter().all(|sum| (sum - 1.0).abs() < 1e-6));
                }
                Task::Regression => {
                    assert_eq!(payload.metric, "RMSE");
                    let rmse = score(H2oSortMetric::Rmse, task, &y, &predictions);
                    assert!(rmse < 0.5, "{rmse}");
                }
            }
            let importance = Automl.feature_importance(&model, 3).unwrap();
            assert!(importance[0] > importance[2], "{importance:?}");
        }
    }

    #[test]
    fn gbms_random_forest_averages_trees_into_probabilities() {
        let gbm = super::super::gbm::Gbm;
        for task in [Task::Binary, Task::Multiclass(3)] {
            let (x, y) = table(400, task);
            let forest = FrameworkConfig::Gbm(
                serde_json::from_value(json!({
                    "random_forest": true, "n_estimators": 30, "max_depth": 12,
                    "min_samples_leaf": 2, "l2": 0.0, "seed": 5
                }))
                .unwrap(),
            );
            let model = gbm.train(&x, &y, task, &forest).unwrap();
            let p = gbm.predict(&model, &x).unwrap();
            // Leaf values come from f32 gradient sums: within their rounding of [0, 1].
            let (low, high) = p
                .iter()
                .fold((1.0f64, 0.0f64), |(l, h), p| (l.min(*p), h.max(*p)));
            assert!(low > -1e-5 && high < 1.0 + 1e-5, "{low} {high}");
            match task {
                Task::Binary => assert!(metrics::roc_auc(&y, &p).unwrap() > 0.95),
                _ => assert!(p
                    .chunks(3)
                    .all(|row| (row.iter().sum::<f64>() - 1.0).abs() < 1e-6)),
            }
            // The same seed grows the same forest.
            assert_eq!(gbm.train(&x, &y, task, &forest).unwrap(), model);
        }
    }

    #[test]
    fn tiny_tables_fall_back_to_fewer_folds() {
        // 12 rows with 3 of the positive class: 3 folds instead of 5.
        let (x, mut y) = table(12, Task::Binary);
        y.iter_mut()
            .enumerate()
            .for_each(|(row, v)| *v = f64::from(u8::from(row % 4 == 0)));
        let model = Automl
            .train(
                &x,
                &y,
                Task::Binary,
                &config(json!({"include_algos": ["GLM"]})),
            )
            .unwrap();
        assert_eq!(load(&model).unwrap().leader, "GLM_1");
    }

    #[test]
    fn no_candidate_left_is_mbt4022() {
        let (x, y) = table(50, Task::Binary);
        let error = Automl
            .train(
                &x,
                &y,
                Task::Binary,
                &config(json!({"include_algos": ["DeepLearning"]})),
            )
            .expect_err("no candidate");
        assert_eq!(
            crate::error::code_of(&error).map(|(code, _)| code),
            Some(Code::AutomlNoModel)
        );
        assert_eq!(
            error.to_string(),
            "automl found no model: include_algos/exclude_algos leave no candidate"
        );
    }

    #[test]
    fn balancing_repeats_the_smaller_class() {
        let (x, _) = table(6, Task::Binary);
        let y = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let (balanced_x, balanced_y) = balanced(&x, &y, Task::Binary);
        assert_eq!(balanced_y.iter().filter(|v| **v == 1.0).count(), 5);
        assert_eq!(balanced_x.rows, 10);
        assert_eq!(balanced_x.column(0)[9], x.column(0)[0]);
    }
}
