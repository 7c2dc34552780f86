//! The `smartcore` framework: smartcore models by class name, with class probabilities for every
//! classifier. smartcore's random forest has no `predict_proba`, so `RandomForestClassifier` is
//! bagged decision trees whose vote share is the probability; logistic regression's probability
//! is the sigmoid of its linear score. Missing values are filled with the train means.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::{LinearRegression, LinearRegressionParameters};
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::linear::ridge_regression::{RidgeRegression, RidgeRegressionParameters};
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters,
};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use super::{Framework, SerializedModel, Task};
use crate::features::Matrix;
use crate::steps::SplitMix64;

pub struct Smartcore;

const FORMAT_VERSION: u32 = 1;

type Classifier = DecisionTreeClassifier<f64, i32, DenseMatrix<f64>, Vec<i32>>;
type Regressor = DecisionTreeRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Train means, used for missing values.
    fill: Vec<f64>,
    model: Model,
}

#[derive(Serialize, Deserialize)]
enum Model {
    Logistic(LogisticRegression<f64, i32, DenseMatrix<f64>, Vec<i32>>),
    Tree(Classifier),
    Forest(Vec<Classifier>),
    Linear(LinearRegression<f64, f64, DenseMatrix<f64>, Vec<f64>>),
    Ridge(RidgeRegression<f64, f64, DenseMatrix<f64>, Vec<f64>>),
    RegressionTree(Regressor),
    RegressionForest(Vec<Regressor>),
}

fn number(config: &Value, key: &str) -> Option<f64> {
    config.get(key).and_then(Value::as_f64)
}

fn dense(x: &Matrix, fill: &[f64]) -> anyhow::Result<DenseMatrix<f64>> {
    DenseMatrix::new(x.rows, x.columns, x.row_major_filled(fill), false)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Bootstrap samples of the rows, one per tree, the same for the same seed.
fn bootstrap(
    x: &DenseMatrix<f64>,
    rows: usize,
    columns: usize,
    seed: u64,
) -> (Vec<usize>, DenseMatrix<f64>) {
    let mut random = SplitMix64(seed);
    let picked: Vec<usize> = (0..rows)
        .map(|_| (random.next_u64() % rows as u64) as usize)
        .collect();
    let values: Vec<f64> = picked
        .iter()
        .flat_map(|row| (0..columns).map(move |column| *x.get((*row, column))))
        .collect();
    let sample = DenseMatrix::new(rows, columns, values, false).expect("same shape");
    (picked, sample)
}

impl Framework for Smartcore {
    fn train(
        &self,
        x: &Matrix,
        y: &[f64],
        task: Task,
        config: &Value,
    ) -> anyhow::Result<SerializedModel> {
        let fill: Vec<f64> = (0..x.columns)
            .map(|column| {
                let present: Vec<f64> = x
                    .column(column)
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .collect();
                if present.is_empty() {
                    0.0
                } else {
                    present.iter().sum::<f64>() / present.len() as f64
                }
            })
            .collect();
        let data = dense(x, &fill)?;
        let name = config
            .get("model")
            .and_then(Value::as_str)
            .context("smartcore needs `model`")?;
        let seed = config.get("seed").and_then(Value::as_u64).unwrap_or(42);
        let depth = number(config, "max_depth").map(|d| d as u16);
        let leaf = number(config, "min_samples_leaf").map_or(1, |v| v as usize);
        let split = number(config, "min_samples_split").map_or(2, |v| v as usize);
        let labels: Vec<i32> = y.iter().map(|v| *v as i32).collect();
        let tree_parameters = || {
            let mut parameters = DecisionTreeClassifierParameters::default()
                .with_min_samples_leaf(leaf)
                .with_min_samples_split(split);
            if let Some(depth) = depth {
                parameters = parameters.with_max_depth(depth);
            }
            parameters
        };
        let regression_tree_parameters = || {
            let mut parameters = DecisionTreeRegressorParameters::default()
                .with_min_samples_leaf(leaf)
                .with_min_samples_split(split);
            if let Some(depth) = depth {
                parameters = parameters.with_max_depth(depth);
            }
            parameters
        };
        let failed =
            |error: smartcore::error::Failed| anyhow::anyhow!("smartcore {name} failed: {error}");
        let trees = number(config, "n_estimators").map_or(100, |v| v as usize);
        let model = match (name, task) {
            ("LogisticRegression", Task::Binary) => Model::Logistic(
                LogisticRegression::fit(&data, &labels, LogisticRegressionParameters::default().with_alpha(number(config, "alpha").unwrap_or(0.0))).map_err(failed)?,
            ),
            ("DecisionTreeClassifier", Task::Binary) => Model::Tree(Classifier::fit(&data, &labels, tree_parameters()).map_err(failed)?),
            ("RandomForestClassifier", Task::Binary) => Model::Forest(
                (0..trees)
                    .map(|tree| {
                        let (picked, sample) = bootstrap(&data, x.rows, x.columns, seed.wrapping_add(tree as u64));
                        let sample_labels: Vec<i32> = picked.iter().map(|row| labels[*row]).collect();
                        Classifier::fit(&sample, &sample_labels, tree_parameters()).map_err(failed)
                    })
                    .collect::<anyhow::Result<_>>()?,
            ),
            ("LinearRegression", Task::Regression) => {
                Model::Linear(LinearRegression::fit(&data, &y.to_vec(), LinearRegressionParameters::default()).map_err(failed)?)
            }
            ("Ridge", Task::Regression) => Model::Ridge(
                RidgeRegression::fit(&data, &y.to_vec(), RidgeRegressionParameters::default().with_alpha(number(config, "alpha").unwrap_or(1.0))).map_err(failed)?,
            ),
            ("DecisionTreeRegressor", Task::Regression) => Model::RegressionTree(Regressor::fit(&data, &y.to_vec(), regression_tree_parameters()).map_err(failed)?),
            ("RandomForestRegressor", Task::Regression) => Model::RegressionForest(
                (0..trees)
                    .map(|tree| {
                        let (picked, sample) = bootstrap(&data, x.rows, x.columns, seed.wrapping_add(tree as u64));
                        let targets: Vec<f64> = picked.iter().map(|row| y[*row]).collect();
                        Regressor::fit(&sample, &targets, regression_tree_parameters()).map_err(failed)
                    })
                    .collect::<anyhow::Result<_>>()?,
            ),
            (other, _) => bail!("smartcore model `{other}` is not supported by this runtime yet for this problem type"),
        };
        Ok(SerializedModel {
            framework: "smartcore".into(),
            format_version: FORMAT_VERSION,
            payload: serde_json::to_string(&Payload { fill, model })?,
        })
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        anyhow::ensure!(
            model.format_version == FORMAT_VERSION,
            "unsupported smartcore model format {}",
            model.format_version
        );
        let payload: Payload =
            serde_json::from_str(&model.payload).context("cannot load the smartcore model")?;
        let data = dense(x, &payload.fill)?;
        let failed = |error: smartcore::error::Failed| {
            anyhow::anyhow!("smartcore prediction failed: {error}")
        };
        let positive = |tree: &Classifier| -> anyhow::Result<Vec<f64>> {
            let probabilities = tree.predict_proba(&data).map_err(failed)?;
            let (_, classes) = probabilities.shape();
            Ok((0..x.rows)
                .map(|row| {
                    if classes > 1 {
                        *probabilities.get((row, 1))
                    } else {
                        0.0
                    }
                })
                .collect())
        };
        Ok(match &payload.model {
            Model::Logistic(model) => {
                let coefficients = model.coefficients();
                let intercept = *model.intercept().get((0, 0));
                (0..x.rows)
                    .map(|row| {
                        let score = intercept
                            + (0..x.columns)
                                .map(|c| data.get((row, c)) * coefficients.get((0, c)))
                                .sum::<f64>();
                        1.0 / (1.0 + (-score).exp())
                    })
                    .collect()
            }
            Model::Tree(tree) => positive(tree)?,
            Model::Forest(trees) => {
                let mut share = vec![0.0; x.rows];
                for tree in trees {
                    for (total, vote) in share.iter_mut().zip(positive(tree)?) {
                        *total += vote / trees.len() as f64;
                    }
                }
                share
            }
            Model::Linear(model) => model.predict(&data).map_err(failed)?,
            Model::Ridge(model) => model.predict(&data).map_err(failed)?,
            Model::RegressionTree(model) => model.predict(&data).map_err(failed)?,
            Model::RegressionForest(trees) => {
                let mut mean = vec![0.0; x.rows];
                for tree in trees {
                    for (total, value) in mean.iter_mut().zip(tree.predict(&data).map_err(failed)?)
                    {
                        *total += value / trees.len() as f64;
                    }
                }
                mean
            }
        })
    }

    fn feature_importance(
        &self,
        _model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        // smartcore exposes no importances; report them as uniform.
        Ok(vec![1.0 / columns.max(1) as f64; columns])
    }
}
