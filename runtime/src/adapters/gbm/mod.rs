//! The `gbm` framework: histogram gradient boosting in pure Rust, multi-threaded.
//!
//! Features are binned to bytes (`binning`), trees grow best-first from gradient histograms
//! (`histogram`, `tree`), and the boosting loop handles binary log loss, softmax multiclass and
//! squared error with early stopping on a held-out slice (`booster`). Written for this runtime
//! because the training benchmark needs it: a row-major byte matrix, bundled one-hot columns and
//! histogram subtraction make it several times faster than forust-ml 0.8, which it replaced.

mod binning;
mod booster;
mod histogram;
mod tree;

use anyhow::Context;
use mbt_contract::frameworks::{FrameworkConfig, GbmConfig};

use super::{Adapter, Framework, SerializedModel, Task};
use crate::features::{Columns, Matrix};
use booster::{Booster, HeldOut, Loss, Params};
use tree::GrowParams;

pub struct Gbm;

/// 2: this crate's own booster (1 was forust-ml's JSON).
const FORMAT_VERSION: u32 = 2;

/// The booster settings of a config (defaults for what it leaves out).
fn params(config: &GbmConfig) -> Params {
    let forest = config.random_forest.unwrap_or(false);
    let max_depth = config.max_depth.unwrap_or(5).clamp(1, 64) as usize;
    let full_tree = 1usize << max_depth.min(20);
    Params {
        rounds: config.n_estimators.unwrap_or(200) as usize,
        grow: GrowParams {
            max_depth,
            max_leaves: config
                .max_leaves
                .map_or(full_tree, |leaves| leaves as usize)
                .max(2),
            l2: config.l2.unwrap_or(1.0),
            min_leaf_weight: config.min_leaf_weight.unwrap_or(1e-3),
            min_samples_leaf: config.min_samples_leaf.unwrap_or(20) as usize,
            learning_rate: config.learning_rate.unwrap_or(0.1),
            colsample: config
                .colsample_bynode
                .unwrap_or(1.0)
                .clamp(f64::MIN_POSITIVE, 1.0),
            extra: config.extra_trees.unwrap_or(false),
            seed: 0,
        },
        max_bins: config.max_bins.unwrap_or(255) as usize,
        subsample: config.subsample.unwrap_or(if forest { 0.632 } else { 1.0 }),
        seed: config.seed.unwrap_or(42),
        random_forest: forest,
        early_stopping: config
            .early_stopping_rounds
            .filter(|_| !forest)
            .map(|patience| {
                (
                    patience as usize,
                    HeldOut::Share(config.validation_fraction.unwrap_or(0.15)),
                )
            }),
        bundle: true,
        deadline: None,
    }
}

/// The gbm config of a framework config.
fn gbm_config(config: &FrameworkConfig) -> anyhow::Result<&GbmConfig> {
    match config {
        FrameworkConfig::Gbm(config) => Ok(config),
        other => anyhow::bail!("gbm cannot train with a `{}` config", other.name()),
    }
}

impl Adapter for Gbm {}

impl Framework for Gbm {
    fn validate_config(&self, config: &FrameworkConfig, _task: Task) -> anyhow::Result<()> {
        let config = gbm_config(config)?;
        let positive = |value: Option<f64>| value.is_none_or(|v| v > 0.0);
        for (key, value) in [
            ("n_estimators", config.n_estimators.map(f64::from)),
            ("learning_rate", config.learning_rate),
            ("max_depth", config.max_depth.map(f64::from)),
            (
                "early_stopping_rounds",
                config.early_stopping_rounds.map(f64::from),
            ),
        ] {
            anyhow::ensure!(positive(value), "gbm `{key}` must be greater than 0");
        }
        let fraction = |value: Option<f64>| value.is_none_or(|v| v > 0.0 && v <= 1.0);
        for (key, value) in [
            ("subsample", config.subsample),
            ("validation_fraction", config.validation_fraction),
            ("learning_rate", config.learning_rate),
            ("colsample_bynode", config.colsample_bynode),
        ] {
            anyhow::ensure!(fraction(value), "gbm `{key}` must be in (0, 1]");
        }
        anyhow::ensure!(
            config.max_bins.is_none_or(|bins| (2..=255).contains(&bins)),
            "gbm `max_bins` must be between 2 and 255"
        );
        Ok(())
    }

    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel> {
        self.train_until(x, y, task, config, None)
    }

    fn train_until(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
        deadline: Option<std::time::Instant>,
    ) -> anyhow::Result<SerializedModel> {
        train_booster(x, y, task, gbm_config(config)?, deadline, None)
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        let booster = load(model)?;
        anyhow::ensure!(
            booster.features == x.columns,
            "the model was trained on {} features, the input has {}",
            booster.features,
            x.columns
        );
        Ok(booster.predict(x))
    }

    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let mut importance = load(model)?.importance();
        importance.resize(columns, 0.0);
        Ok(importance)
    }
}

/// Trains as [`Framework::train_until`], except that early stopping (when the config has it)
/// watches the last `held_out` rows instead of a share of all: a validation set the caller
/// appended. AutoML stops each fold's model on the fold it predicts, so no training row is
/// spent on stopping.
pub fn train_stopping_on_last(
    x: &dyn Columns,
    y: &[f64],
    task: Task,
    config: &FrameworkConfig,
    deadline: Option<std::time::Instant>,
    held_out: usize,
) -> anyhow::Result<SerializedModel> {
    train_booster(x, y, task, gbm_config(config)?, deadline, Some(held_out))
}

fn train_booster(
    x: &dyn Columns,
    y: &[f64],
    task: Task,
    config: &GbmConfig,
    deadline: Option<std::time::Instant>,
    held_out_last: Option<usize>,
) -> anyhow::Result<SerializedModel> {
    let (loss, outputs) = match task {
        Task::Binary => (Loss::Logistic, 1),
        Task::Multiclass(classes) => (Loss::Softmax, classes),
        Task::Regression => (Loss::Squared, 1),
    };
    anyhow::ensure!(x.rows() > 0, "there are no rows to train on");
    let mut params = Params {
        deadline,
        ..params(config)
    };
    if let Some(count) = held_out_last {
        // Without early stopping the appended rows would be trained on.
        let Some((patience, _)) = params.early_stopping else {
            anyhow::bail!("rows held out for early stopping, but the config does not stop early");
        };
        params.early_stopping = Some((patience, HeldOut::Last(count)));
    }
    let booster = booster::train(x, y, loss, outputs, &params)?;
    Ok(SerializedModel::json(
        "gbm",
        FORMAT_VERSION,
        serde_json::to_string(&booster)?,
    ))
}

/// The rounds a model kept (trees per output, after early stopping); `None` for another
/// framework's model. AutoML refits on every row with the rounds its folds found.
pub fn rounds(model: &SerializedModel) -> Option<usize> {
    let booster = load(model).ok()?;
    Some(booster.trees.len() / booster.outputs.max(1))
}

fn load(model: &SerializedModel) -> anyhow::Result<Booster> {
    anyhow::ensure!(
        model.framework == "gbm" && model.format_version == FORMAT_VERSION,
        "model was saved by {} format {}, this runtime reads gbm format {FORMAT_VERSION}",
        model.framework,
        model.format_version
    );
    serde_json::from_str(&model.payload).context("cannot load the gbm model")
}

/// The gbm config of a JSON `config`, as a pipeline would write it.
#[cfg(test)]
pub fn test_config(value: serde_json::Value) -> FrameworkConfig {
    serde_json::from_value(serde_json::json!({"framework": "gbm", "config": value})).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configs_outside_their_range_are_refused() {
        assert!(Gbm
            .validate_config(
                &test_config(json!({"n_estimators": 10, "learning_rate": 0.1})),
                Task::Binary
            )
            .is_ok());
        let error = Gbm
            .validate_config(&test_config(json!({"learning_rate": 1.5})), Task::Binary)
            .unwrap_err();
        assert_eq!(error.to_string(), "gbm `learning_rate` must be in (0, 1]");
        assert!(Gbm
            .validate_config(&test_config(json!({"n_estimators": 0})), Task::Regression)
            .is_err());
    }

    #[test]
    fn multiclass_probabilities_sum_to_one_and_separate_the_classes() {
        // Three separable classes along one column.
        let rows = 90;
        let values: Vec<f64> = (0..rows)
            .map(|i| (i % 3) as f64 + 0.01 * i as f64 / rows as f64)
            .collect();
        let y: Vec<f64> = (0..rows).map(|i| (i % 3) as f64).collect();
        let x = Matrix {
            values,
            rows,
            columns: 1,
        };
        let config = test_config(json!({"n_estimators": 20, "learning_rate": 0.3, "max_depth": 2}));
        let model = Gbm.train(&x, &y, Task::Multiclass(3), &config).unwrap();
        let p = Gbm.predict(&model, &x).unwrap();
        assert_eq!(p.len(), rows * 3);
        for (row, probabilities) in p.chunks(3).enumerate() {
            assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            let best = crate::metrics::argmax_rows(probabilities, 3)[0];
            assert_eq!(best, row % 3);
        }
        let importance = Gbm.feature_importance(&model, 1).unwrap();
        assert!((importance[0] - 1.0).abs() < 1e-9);
    }

    /// Two informative columns (their XOR decides the label), a noise column, a one-hot block
    /// and a column with missing values that carry signal.
    fn dataset(rows: usize) -> (Matrix, Vec<f64>) {
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut columns: Vec<Vec<f64>> = vec![Vec::new(); 7];
        let mut y = Vec::new();
        for _ in 0..rows {
            let (a, b, noise) = (next(), next(), next());
            let category = (next() * 3.0) as usize;
            let missing = next() < 0.2;
            let label = ((a > 0.5) ^ (b > 0.5)) || missing;
            columns[0].push(a);
            columns[1].push(b);
            columns[2].push(noise);
            for (index, column) in columns[3..6].iter_mut().enumerate() {
                column.push(f64::from(u8::from(index == category)));
            }
            columns[6].push(if missing { f64::NAN } else { next() });
            y.push(f64::from(u8::from(label)));
        }
        let x = Matrix {
            values: columns.concat(),
            rows,
            columns: 7,
        };
        (x, y)
    }

    fn accuracy(p: &[f64], y: &[f64]) -> f64 {
        let right = p
            .iter()
            .zip(y)
            .filter(|(p, y)| (**p > 0.5) == (**y == 1.0))
            .count();
        right as f64 / y.len() as f64
    }

    #[test]
    fn binary_models_learn_interactions_and_missing_values() {
        let (x, y) = dataset(4_000);
        let config = test_config(json!({"n_estimators": 60, "learning_rate": 0.3, "max_depth": 4}));
        let model = Gbm.train(&x, &y, Task::Binary, &config).unwrap();
        let p = Gbm.predict(&model, &x).unwrap();
        assert!(accuracy(&p, &y) > 0.97, "accuracy {}", accuracy(&p, &y));
        let missing_rows: Vec<usize> = (0..x.rows)
            .filter(|row| x.column(6)[*row].is_nan())
            .collect();
        assert!(missing_rows.iter().all(|row| p[*row] > 0.8));
        let importance = Gbm.feature_importance(&model, 7).unwrap();
        assert!((importance.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(importance[2] < importance[0] && importance[2] < importance[1]);
    }

    #[test]
    fn the_same_data_and_seed_give_the_same_model_bytes() {
        let (x, y) = dataset(3_000);
        let config = test_config(json!({"n_estimators": 20, "subsample": 0.7, "seed": 3}));
        let first = Gbm.train(&x, &y, Task::Binary, &config).unwrap();
        let second = Gbm.train(&x, &y, Task::Binary, &config).unwrap();
        assert!(first.payload == second.payload, "two trainings differ");
        let other_seed = test_config(json!({"n_estimators": 20, "subsample": 0.7, "seed": 4}));
        let other = Gbm.train(&x, &y, Task::Binary, &other_seed).unwrap();
        assert!(first.payload != other.payload, "the seed changed nothing");
    }

    #[test]
    fn a_saved_model_predicts_what_the_trained_one_did() {
        let (x, y) = dataset(2_000);
        let model = Gbm
            .train(
                &x,
                &y,
                Task::Binary,
                &test_config(json!({"n_estimators": 15})),
            )
            .unwrap();
        let booster: Booster = serde_json::from_str(&model.payload).unwrap();
        let again = serde_json::to_string(&booster).unwrap();
        // Exact float round trips (serde_json's `float_roundtrip`): no leaf value drifts.
        assert!(
            again == model.payload,
            "the payload changed on a round trip"
        );
        let narrower = Matrix {
            values: x.values[..x.rows * 6].to_vec(),
            rows: x.rows,
            columns: 6,
        };
        let error = Gbm.predict(&model, &narrower).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the model was trained on 7 features, the input has 6"
        );
    }

    #[test]
    fn regression_fits_a_step_and_early_stopping_stops_on_noise() {
        let rows = 3_000;
        // 100 distinct values: a bin each, so the step falls on a bin bound.
        let values: Vec<f64> = (0..rows).map(|i| (i % 100) as f64 / 100.0).collect();
        let y: Vec<f64> = values
            .iter()
            .map(|v| if *v < 0.3 { 1.0 } else { 5.0 })
            .collect();
        let x = Matrix {
            values,
            rows,
            columns: 1,
        };
        let model = Gbm
            .train(
                &x,
                &y,
                Task::Regression,
                &test_config(json!({"n_estimators": 50, "learning_rate": 0.5})),
            )
            .unwrap();
        let p = Gbm.predict(&model, &x).unwrap();
        let rmse =
            (p.iter().zip(&y).map(|(p, y)| (p - y).powi(2)).sum::<f64>() / rows as f64).sqrt();
        assert!(rmse < 0.01, "rmse {rmse}");

        let (x, _) = dataset(3_000);
        let noise: Vec<f64> = (0..x.rows).map(|row| ((row * 7_919) % 13) as f64).collect();
        let config = test_config(
            json!({"n_estimators": 300, "early_stopping_rounds": 5, "learning_rate": 0.3}),
        );
        let model = Gbm.train(&x, &noise, Task::Regression, &config).unwrap();
        let booster: Booster = serde_json::from_str(&model.payload).unwrap();
        assert!(
            booster.trees.len() < 50,
            "{} trees kept",
            booster.trees.len()
        );
    }

    #[test]
    fn early_stopping_can_watch_appended_rows_that_no_tree_is_fit_on() {
        // 1,000 rows where the label steps up at 0.3, then 200 watched rows: the same step, or
        // its reverse.
        let step = |v: f64, up: bool| if (v < 0.3) == up { 1.0 } else { 5.0 };
        let values: Vec<f64> = (0..1_200).map(|i| (i % 100) as f64 / 100.0).collect();
        let x = Matrix {
            values: values.clone(),
            rows: 1_200,
            columns: 1,
        };
        let config = test_config(
            json!({"n_estimators": 200, "early_stopping_rounds": 3, "learning_rate": 0.3}),
        );
        let train = |reverse: bool| {
            let y: Vec<f64> = values
                .iter()
                .enumerate()
                .map(|(row, v)| step(*v, !(reverse && row >= 1_000)))
                .collect();
            let model =
                train_stopping_on_last(&x, &y, Task::Regression, &config, None, 200).unwrap();
            let booster: Booster = serde_json::from_str(&model.payload).unwrap();
            (booster.trees.len(), Gbm.predict(&model, &x).unwrap())
        };
        // Watched rows that agree: boosting goes on until it fits the step.
        let (agreeing, p) = train(false);
        assert!(agreeing > 10, "{agreeing} trees");
        assert!(
            (p[0] - 1.0).abs() < 0.05 && (p[50] - 5.0).abs() < 0.05,
            "{p:?}"
        );
        // Watched rows that disagree: every round makes them worse, so one tree is kept, and
        // it learned the fitted rows' step (fit on both, the steps would cancel out).
        let (disagreeing, p) = train(true);
        assert_eq!(disagreeing, 1);
        assert!(p[0] < p[50], "{} vs {}", p[0], p[50]);
        // Without early stopping the watched rows would be fitted: refused.
        let plain = test_config(json!({"n_estimators": 10}));
        let y = vec![1.0; 1_200];
        assert!(train_stopping_on_last(&x, &y, Task::Regression, &plain, None, 200).is_err());
    }
}
