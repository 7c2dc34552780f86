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
use serde_json::Value;

use super::{Framework, SerializedModel, Task};
use crate::features::{Columns, Matrix};
use booster::{Booster, Loss, Params};
use tree::GrowParams;

pub struct Gbm;

/// 2: this crate's own booster (1 was forust-ml's JSON).
const FORMAT_VERSION: u32 = 2;

fn setting<T>(config: &Value, key: &str, read: impl Fn(&Value) -> Option<T>, default: T) -> T {
    config.get(key).and_then(read).unwrap_or(default)
}

/// The booster settings of a config (defaults for what it leaves out).
fn params(config: &Value) -> Params {
    let max_depth = setting(config, "max_depth", Value::as_u64, 5).clamp(1, 64) as usize;
    let full_tree = 1usize << max_depth.min(20);
    Params {
        rounds: setting(config, "n_estimators", Value::as_u64, 200) as usize,
        grow: GrowParams {
            max_depth,
            max_leaves: setting(config, "max_leaves", Value::as_u64, full_tree as u64).max(2)
                as usize,
            l2: setting(config, "l2", Value::as_f64, 1.0),
            min_leaf_weight: setting(config, "min_leaf_weight", Value::as_f64, 1e-3),
            min_samples_leaf: setting(config, "min_samples_leaf", Value::as_u64, 20) as usize,
            learning_rate: setting(config, "learning_rate", Value::as_f64, 0.1),
        },
        max_bins: setting(config, "max_bins", Value::as_u64, 255) as usize,
        subsample: setting(config, "subsample", Value::as_f64, 1.0),
        seed: setting(config, "seed", Value::as_u64, 42),
        early_stopping: config
            .get("early_stopping_rounds")
            .and_then(Value::as_u64)
            .map(|patience| {
                (
                    patience as usize,
                    setting(config, "validation_fraction", Value::as_f64, 0.15),
                )
            }),
        bundle: true,
    }
}

impl Framework for Gbm {
    fn validate_config(&self, config: &Value, _task: Task) -> anyhow::Result<()> {
        let positive = |key: &str| {
            config
                .get(key)
                .and_then(Value::as_f64)
                .is_none_or(|v| v > 0.0)
        };
        for key in [
            "n_estimators",
            "learning_rate",
            "max_depth",
            "early_stopping_rounds",
        ] {
            anyhow::ensure!(positive(key), "gbm `{key}` must be greater than 0");
        }
        let fraction = |key: &str| {
            config
                .get(key)
                .and_then(Value::as_f64)
                .is_none_or(|v| v > 0.0 && v <= 1.0)
        };
        for key in ["subsample", "validation_fraction", "learning_rate"] {
            anyhow::ensure!(fraction(key), "gbm `{key}` must be in (0, 1]");
        }
        let bins = config.get("max_bins").and_then(Value::as_u64);
        anyhow::ensure!(
            bins.is_none_or(|bins| (2..=255).contains(&bins)),
            "gbm `max_bins` must be between 2 and 255"
        );
        Ok(())
    }

    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &Value,
    ) -> anyhow::Result<SerializedModel> {
        let (loss, outputs) = match task {
            Task::Binary => (Loss::Logistic, 1),
            Task::Multiclass(classes) => (Loss::Softmax, classes),
            Task::Regression => (Loss::Squared, 1),
        };
        anyhow::ensure!(x.rows() > 0, "there are no rows to train on");
        let booster = booster::train(x, y, loss, outputs, &params(config))?;
        Ok(SerializedModel {
            framework: "gbm".into(),
            format_version: FORMAT_VERSION,
            payload: serde_json::to_string(&booster)?,
        })
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

fn load(model: &SerializedModel) -> anyhow::Result<Booster> {
    anyhow::ensure!(
        model.framework == "gbm" && model.format_version == FORMAT_VERSION,
        "model was saved by {} format {}, this runtime reads gbm format {FORMAT_VERSION}",
        model.framework,
        model.format_version
    );
    serde_json::from_str(&model.payload).context("cannot load the gbm model")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configs_outside_their_range_are_refused() {
        assert!(Gbm
            .validate_config(
                &json!({"n_estimators": 10, "learning_rate": 0.1}),
                Task::Binary
            )
            .is_ok());
        let error = Gbm
            .validate_config(&json!({"learning_rate": 1.5}), Task::Binary)
            .unwrap_err();
        assert_eq!(error.to_string(), "gbm `learning_rate` must be in (0, 1]");
        assert!(Gbm
            .validate_config(&json!({"n_estimators": 0}), Task::Regression)
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
        let config = json!({"n_estimators": 20, "learning_rate": 0.3, "max_depth": 2});
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
        let config = json!({"n_estimators": 60, "learning_rate": 0.3, "max_depth": 4});
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
        let config = json!({"n_estimators": 20, "subsample": 0.7, "seed": 3});
        let first = Gbm.train(&x, &y, Task::Binary, &config).unwrap();
        let second = Gbm.train(&x, &y, Task::Binary, &config).unwrap();
        assert!(first.payload == second.payload, "two trainings differ");
        let other_seed = json!({"n_estimators": 20, "subsample": 0.7, "seed": 4});
        let other = Gbm.train(&x, &y, Task::Binary, &other_seed).unwrap();
        assert!(first.payload != other.payload, "the seed changed nothing");
    }

    #[test]
    fn a_saved_model_predicts_what_the_trained_one_did() {
        let (x, y) = dataset(2_000);
        let model = Gbm
            .train(&x, &y, Task::Binary, &json!({"n_estimators": 15}))
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
                &json!({"n_estimators": 50, "learning_rate": 0.5}),
            )
            .unwrap();
        let p = Gbm.predict(&model, &x).unwrap();
        let rmse =
            (p.iter().zip(&y).map(|(p, y)| (p - y).powi(2)).sum::<f64>() / rows as f64).sqrt();
        assert!(rmse < 0.01, "rmse {rmse}");

        let (x, _) = dataset(3_000);
        let noise: Vec<f64> = (0..x.rows).map(|row| ((row * 7_919) % 13) as f64).collect();
        let config = json!({"n_estimators": 300, "early_stopping_rounds": 5, "learning_rate": 0.3});
        let model = Gbm.train(&x, &noise, Task::Regression, &config).unwrap();
        let booster: Booster = serde_json::from_str(&model.payload).unwrap();
        assert!(
            booster.trees.len() < 50,
            "{} trees kept",
            booster.trees.len()
        );
    }
}
