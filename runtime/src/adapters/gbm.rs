//! The `gbm` framework: gradient-boosted trees from forust-ml (pure Rust, multi-threaded).

use anyhow::Context;
use forust_ml::gradientbooster::ImportanceMethod;
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::GradientBooster;
use serde_json::Value;

use super::{Framework, SerializedModel, Task};
use crate::features::Matrix;

pub struct Gbm;

const FORMAT_VERSION: u32 = 1;

fn setting<T>(config: &Value, key: &str, read: impl Fn(&Value) -> Option<T>, default: T) -> T {
    config.get(key).and_then(read).unwrap_or(default)
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
        Ok(())
    }

    /// Multiclass is one-vs-rest (forust-ml has no softmax objective): one binary booster per
    /// class, probabilities normalised to sum to 1.
    fn train(
        &self,
        x: &Matrix,
        y: &[f64],
        task: Task,
        config: &Value,
    ) -> anyhow::Result<SerializedModel> {
        if let Task::Multiclass(classes) = task {
            let boosters = (0..classes)
                .map(|class| {
                    let one: Vec<f64> = y
                        .iter()
                        .map(|v| f64::from(u8::from(*v as usize == class)))
                        .collect();
                    Ok(self.train(x, &one, Task::Binary, config)?.payload)
                })
                .collect::<anyhow::Result<Vec<String>>>()?;
            return Ok(SerializedModel {
                framework: "gbm".into(),
                format_version: FORMAT_VERSION,
                payload: serde_json::to_string(&boosters)?,
            });
        }
        let objective = match task {
            Task::Regression => ObjectiveType::SquaredLoss,
            _ => ObjectiveType::LogLoss,
        };
        let rounds = setting(config, "n_estimators", Value::as_u64, 200) as usize;
        let mut booster = GradientBooster::default()
            .set_objective_type(objective)
            .set_iterations(rounds)
            .set_learning_rate(setting(config, "learning_rate", Value::as_f64, 0.05) as f32)
            .set_max_depth(setting(config, "max_depth", Value::as_u64, 5) as usize)
            .set_l2(setting(config, "l2", Value::as_f64, 1.0) as f32)
            .set_min_leaf_weight(setting(config, "min_leaf_weight", Value::as_f64, 1.0) as f32)
            .set_subsample(setting(config, "subsample", Value::as_f64, 1.0) as f32)
            .set_seed(setting(config, "seed", Value::as_u64, 42))
            .set_num_threads(None);
        if let Some(leaves) = config.get("max_leaves").and_then(Value::as_u64) {
            booster = booster.set_max_leaves(leaves as usize);
        }
        let matrix = forust_ml::Matrix::new(&x.values, x.rows, x.columns);
        match config.get("early_stopping_rounds").and_then(Value::as_u64) {
            Some(patience) => {
                // Hold out a deterministic slice of the train set for early stopping.
                let fraction = setting(config, "validation_fraction", Value::as_f64, 0.15);
                let (fit_rows, stop_rows) = holdout(x.rows, fraction);
                let fit_x = x.select_rows(&fit_rows);
                let stop_x = x.select_rows(&stop_rows);
                let fit_y: Vec<f64> = fit_rows.iter().map(|i| y[*i]).collect();
                let stop_y: Vec<f64> = stop_rows.iter().map(|i| y[*i]).collect();
                let weights = vec![1.0; stop_y.len()];
                let metric = match task {
                    Task::Regression => Metric::RootMeanSquaredError,
                    _ => Metric::LogLoss,
                };
                booster = booster
                    .set_evaluation_metric(Some(metric))
                    .set_early_stopping_rounds(Some(patience as usize));
                booster
                    .fit_unweighted(
                        &forust_ml::Matrix::new(&fit_x.values, fit_x.rows, fit_x.columns),
                        &fit_y,
                        Some(vec![(
                            forust_ml::Matrix::new(&stop_x.values, stop_x.rows, stop_x.columns),
                            &stop_y,
                            &weights,
                        )]),
                    )
                    .context("gradient boosting failed")?;
            }
            None => booster
                .fit_unweighted(&matrix, y, None)
                .context("gradient boosting failed")?,
        }
        Ok(SerializedModel {
            framework: "gbm".into(),
            format_version: FORMAT_VERSION,
            payload: booster.json_dump().context("cannot serialize the model")?,
        })
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        if let Some(boosters) = one_vs_rest(model)? {
            let per_class: Vec<Vec<f64>> = boosters
                .iter()
                .map(|booster| self.predict(booster, x))
                .collect::<anyhow::Result<_>>()?;
            let mut out = Vec::with_capacity(x.rows * per_class.len());
            for row in 0..x.rows {
                let total: f64 = per_class
                    .iter()
                    .map(|p| p[row])
                    .sum::<f64>()
                    .max(f64::MIN_POSITIVE);
                out.extend(per_class.iter().map(|p| p[row] / total));
            }
            return Ok(out);
        }
        let booster = load(model)?;
        let raw = booster.predict(&forust_ml::Matrix::new(&x.values, x.rows, x.columns), true);
        let binary = matches!(booster.objective_type, ObjectiveType::LogLoss);
        Ok(if binary {
            raw.into_iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect()
        } else {
            raw
        })
    }

    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        if let Some(boosters) = one_vs_rest(model)? {
            let mut total = vec![0.0; columns];
            for booster in &boosters {
                for (sum, value) in total
                    .iter_mut()
                    .zip(self.feature_importance(booster, columns)?)
                {
                    *sum += value / boosters.len() as f64;
                }
            }
            return Ok(total);
        }
        let booster = load(model)?;
        let importance = booster.calculate_feature_importance(ImportanceMethod::TotalGain, true);
        let mut out = vec![0.0; columns];
        for (column, value) in importance {
            if column < columns {
                out[column] = f64::from(value);
            }
        }
        Ok(out)
    }
}

/// The per-class boosters of a multiclass model (its payload is a JSON array of them).
fn one_vs_rest(model: &SerializedModel) -> anyhow::Result<Option<Vec<SerializedModel>>> {
    if !model.payload.starts_with('[') {
        return Ok(None);
    }
    let payloads: Vec<String> =
        serde_json::from_str(&model.payload).context("cannot load the multiclass gbm model")?;
    Ok(Some(
        payloads
            .into_iter()
            .map(|payload| SerializedModel {
                payload,
                ..model.clone()
            })
            .collect(),
    ))
}

fn load(model: &SerializedModel) -> anyhow::Result<GradientBooster> {
    anyhow::ensure!(
        model.framework == "gbm" && model.format_version == FORMAT_VERSION,
        "model was saved by {} format {}, this runtime reads gbm format {FORMAT_VERSION}",
        model.framework,
        model.format_version
    );
    GradientBooster::from_json(&model.payload).context("cannot load the gbm model")
}

/// Every k-th row goes to the hold-out set (deterministic, spread over the data).
fn holdout(rows: usize, fraction: f64) -> (Vec<usize>, Vec<usize>) {
    let every = (1.0 / fraction.clamp(0.01, 0.5)).round().max(2.0) as usize;
    (0..rows).partition(|row| row % every != 0)
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
    fn multiclass_is_one_booster_per_class_with_normalised_probabilities() {
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
}
