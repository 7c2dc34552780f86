//! The `smartcore` framework: smartcore models by class name, with class probabilities for every
//! classifier and a real feature importance wherever the fitted model allows one.
//!
//! smartcore fits every model; the payload keeps either the smartcore model (regressors, KNN) or
//! the fitted parameters read out of it (classifiers whose probabilities smartcore does not
//! compute), so prediction never refits. Missing values are filled with the train means.
//!
//! This module holds the framework itself: the payload and its format version, the check that a
//! model fits the task, and the dispatch to the two families. The config arrives typed
//! ([`SmartcoreConfig`], one variant per model class) and is matched exhaustively, so a model or
//! a parameter added to the contract does not compile here until it is handled. The modules:
//! - `classifiers`: training of the five classifiers, their probabilities and importances;
//! - `regressors`: training of the seven regressors and their predictions;
//! - `internals`: the one place that reads smartcore 0.7.0's serialized internals (tree nodes,
//!   the forest's bootstrap samples), which depends on that exact version.
//!
//! Feature importance (summing to 1):
//! - trees and forests: impurity decrease per split feature (classifiers: weighted Gini/entropy
//!   decrease from the nodes; regressors: smartcore's squared-error decrease), normalised per tree
//!   and averaged over the forest;
//! - linear models and logistic regression: `|coefficient| * std(column)` (the coefficient on
//!   standardized inputs), summed over classes;
//! - `GaussianNB`: the spread of the class means over the mean class variance, per column;
//! - KNN: uniform (a neighbour vote weighs no column); also the fallback when a model made no split
//!   or has all-zero coefficients.

mod classifiers;
mod internals;
mod regressors;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_regressor::RandomForestRegressor;
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::elastic_net::ElasticNet;
use smartcore::linear::lasso::Lasso;
use smartcore::linear::linear_regression::LinearRegression;
use smartcore::linear::ridge_regression::RidgeRegression;
use smartcore::metrics::distance::euclidian::Euclidian;
use smartcore::neighbors::knn_classifier::KNNClassifier;
use smartcore::neighbors::knn_regressor::KNNRegressor;
use smartcore::neighbors::KNNWeightFunction;
use smartcore::tree::decision_tree_regressor::DecisionTreeRegressor;

use mbt_contract::frameworks::SMARTCORE_REGRESSORS as REGRESSORS;
use mbt_contract::frameworks::{FrameworkConfig, KnnWeights, SmartcoreConfig};

use super::{Adapter, Framework, SerializedModel, Task};
use crate::features::{Columns, Matrix};

pub struct Smartcore;

/// 2: classifiers store fitted parameters (leaf class shares, scores), the output kind and the
/// importances; regressors added KNN, Lasso and ElasticNet.
const FORMAT_VERSION: u32 = 2;

/// Every classifier this adapter trains, by the name a config gives it. [`family`] decides which
/// family a config belongs to; this list and the contract's regressor list only word the errors,
/// and a test keeps the three in agreement.
const CLASSIFIERS: &[&str] = &[
    "RandomForestClassifier",
    "DecisionTreeClassifier",
    "LogisticRegression",
    "KNeighborsClassifier",
    "GaussianNB",
];

/// The seed of the tree models when the config names none.
const DEFAULT_SEED: u64 = 42;
/// The number of trees of a forest when the config names none.
const DEFAULT_TREES: u32 = 100;

type Dense = DenseMatrix<f64>;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Train means, used for missing values.
    fill: Vec<f64>,
    output: Output,
    /// Per column, summing to 1; computed at training, where the data is at hand.
    importance: Vec<f64>,
    model: Model,
}

/// What `predict` returns.
#[derive(Clone, Copy, Serialize, Deserialize)]
enum Output {
    /// The probability of class 1 of two.
    Positive,
    /// Every class's probability, row-major.
    Classes(usize),
    Value,
}

/// A fitted model as the payload stores it. Its serialized form is part of [`FORMAT_VERSION`]:
/// the variants' names and order must not change without bumping it.
#[derive(Serialize, Deserialize)]
enum Model {
    /// One score row (binary: the score of `classes[1]`) or one per class (softmax).
    Logistic {
        /// The task class of each score row's class.
        classes: Vec<usize>,
        weights: Vec<Vec<f64>>,
        intercepts: Vec<f64>,
    },
    /// One tree or a forest; the probability is the mean of the leaves' class shares.
    Trees(Vec<ClassTree>),
    Knn {
        /// The task class of each smartcore probability column.
        classes: Vec<usize>,
        model: KNNClassifier<f64, i32, Dense, Vec<i32>, Euclidian<f64>>,
    },
    GaussianNb {
        classes: Vec<usize>,
        priors: Vec<f64>,
        /// Per class, per column.
        means: Vec<Vec<f64>>,
        /// Per class, per column, smoothed (never zero).
        variances: Vec<Vec<f64>>,
    },
    Linear(LinearRegression<f64, f64, Dense, Vec<f64>>),
    Ridge(RidgeRegression<f64, f64, Dense, Vec<f64>>),
    Lasso(Lasso<f64, f64, Dense, Vec<f64>>),
    ElasticNet(ElasticNet<f64, f64, Dense, Vec<f64>>),
    RegressionTree(DecisionTreeRegressor<f64, f64, Dense, Vec<f64>>),
    RegressionForest(RandomForestRegressor<f64, f64, Dense, Vec<f64>>),
    KnnRegressor(KNNRegressor<f64, f64, Dense, Vec<f64>, Euclidian<f64>>),
}

/// Whether a model predicts classes or values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Classifier,
    Regressor,
}

/// The class name of a config's model (its `model` tag) and its family. The match is exhaustive
/// so that a model added to [`SmartcoreConfig`] must be placed in a family here.
fn family(config: &SmartcoreConfig) -> (&'static str, Family) {
    use Family::{Classifier, Regressor};
    match config {
        SmartcoreConfig::RandomForestClassifier { .. } => ("RandomForestClassifier", Classifier),
        SmartcoreConfig::DecisionTreeClassifier { .. } => ("DecisionTreeClassifier", Classifier),
        SmartcoreConfig::LogisticRegression { .. } => ("LogisticRegression", Classifier),
        SmartcoreConfig::KNeighborsClassifier { .. } => ("KNeighborsClassifier", Classifier),
        SmartcoreConfig::GaussianNb {} => ("GaussianNB", Classifier),
        SmartcoreConfig::RandomForestRegressor { .. } => ("RandomForestRegressor", Regressor),
        SmartcoreConfig::DecisionTreeRegressor { .. } => ("DecisionTreeRegressor", Regressor),
        SmartcoreConfig::KNeighborsRegressor { .. } => ("KNeighborsRegressor", Regressor),
        SmartcoreConfig::LinearRegression { .. } => ("LinearRegression", Regressor),
        SmartcoreConfig::Ridge { .. } => ("Ridge", Regressor),
        SmartcoreConfig::Lasso { .. } => ("Lasso", Regressor),
        SmartcoreConfig::ElasticNet { .. } => ("ElasticNet", Regressor),
    }
}

/// The smartcore config of a framework config.
fn smartcore_config(config: &FrameworkConfig) -> anyhow::Result<&SmartcoreConfig> {
    match config {
        FrameworkConfig::Smartcore(config) => Ok(config),
        other => bail!("smartcore cannot train with a `{}` config", other.name()),
    }
}

impl Adapter for Smartcore {}

impl Framework for Smartcore {
    fn validate_config(&self, config: &FrameworkConfig, task: Task) -> anyhow::Result<()> {
        check_model(smartcore_config(config)?, task)
    }

    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel> {
        let config = smartcore_config(config)?;
        let x = &*Matrix::gather(x)?;
        // Checked here too, not only in `validate_config`: `train` may be called without it, and
        // the families' training matches rely on it.
        check_model(config, task)?;
        let (name, _) = family(config);
        anyhow::ensure!(
            x.rows == y.len(),
            "smartcore: {} feature rows but {} labels",
            x.rows,
            y.len()
        );
        anyhow::ensure!(
            x.rows > 0 && x.columns > 0,
            "smartcore cannot train {name} on an empty matrix ({} rows, {} columns)",
            x.rows,
            x.columns
        );
        let fill = column_means(x);
        let data = dense(x, &fill)?;
        let (output, model, importance) = match task {
            Task::Binary => {
                let labels = classifiers::class_labels(y, 2)?;
                let (model, importance) = classifiers::train(config, &data, &labels, 2)?;
                (Output::Positive, model, importance)
            }
            Task::Multiclass(classes) => {
                let labels = classifiers::class_labels(y, classes)?;
                let (model, importance) = classifiers::train(config, &data, &labels, classes)?;
                (Output::Classes(classes), model, importance)
            }
            Task::Regression => {
                let (model, importance) = regressors::train(config, &data, y)?;
                (Output::Value, model, importance)
            }
        };
        let importance = normalized(importance, x.columns);
        Ok(SerializedModel::json(
            "smartcore",
            FORMAT_VERSION,
            serde_json::to_string(&Payload {
                fill,
                output,
                importance,
                model,
            })?,
        ))
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        let payload = load(model)?;
        anyhow::ensure!(
            x.columns == payload.fill.len(),
            "the smartcore model was trained on {} columns, got {}",
            payload.fill.len(),
            x.columns
        );
        if x.rows == 0 {
            return Ok(Vec::new());
        }
        let data = dense(x, &payload.fill)?;
        Ok(match payload.output {
            Output::Value => regressors::predict(&payload.model, &data)?,
            Output::Positive => classifiers::probabilities(&payload.model, &data, 2)?
                .chunks(2)
                .map(|row| row[1])
                .collect(),
            Output::Classes(classes) => classifiers::probabilities(&payload.model, &data, classes)?,
        })
    }

    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        let payload = load(model)?;
        anyhow::ensure!(
            payload.importance.len() == columns,
            "the smartcore model has {} columns, not {columns}",
            payload.importance.len()
        );
        Ok(payload.importance)
    }
}

fn load(model: &SerializedModel) -> anyhow::Result<Payload> {
    anyhow::ensure!(
        model.format_version == FORMAT_VERSION,
        "unsupported smartcore model format {} (this runtime reads {FORMAT_VERSION}); retrain the model",
        model.format_version
    );
    serde_json::from_str(&model.payload).context("cannot load the smartcore model")
}

/// A classifier for regression or a regressor for classification is an error. (An unknown model
/// name never gets this far: it does not deserialize into a [`SmartcoreConfig`].)
fn check_model(config: &SmartcoreConfig, task: Task) -> anyhow::Result<()> {
    let (name, family) = family(config);
    let (wanted, problem) = match task {
        Task::Binary => (Family::Classifier, "binary classification"),
        Task::Multiclass(_) => (Family::Classifier, "multiclass classification"),
        Task::Regression => (Family::Regressor, "regression"),
    };
    if family == wanted {
        return Ok(());
    }
    let (kind, fitting) = match family {
        Family::Classifier => ("a classifier", REGRESSORS),
        Family::Regressor => ("a regressor", CLASSIFIERS),
    };
    bail!(
        "smartcore model `{name}` is {kind} and cannot be trained for {problem} (use one of: {})",
        fitting.join(", ")
    )
}

/// The settings shared by trees and forests, with the defaults for what a config leaves out.
struct TreeSettings {
    max_depth: Option<u16>,
    min_samples_leaf: usize,
    min_samples_split: usize,
    seed: u64,
}

impl TreeSettings {
    fn new(
        max_depth: Option<u32>,
        min_samples_split: Option<u32>,
        min_samples_leaf: Option<u32>,
        seed: Option<u64>,
    ) -> TreeSettings {
        TreeSettings {
            // smartcore takes a u16 depth; a deeper limit saturates, which is no limit in effect.
            max_depth: max_depth.map(|depth| u16::try_from(depth).unwrap_or(u16::MAX)),
            min_samples_leaf: min_samples_leaf.map_or(1, |v| v as usize),
            min_samples_split: min_samples_split.map_or(2, |v| v as usize),
            seed: seed.unwrap_or(DEFAULT_SEED),
        }
    }
}

/// `k` (default 5, as in scikit-learn), at most the number of train rows.
fn neighbours(k: Option<u32>, rows: usize) -> usize {
    k.map_or(5, |k| k as usize).clamp(1, rows.max(1))
}

/// smartcore's weighting of the neighbours' votes (uniform unless the config says otherwise).
fn knn_weights(weights: Option<KnnWeights>) -> KNNWeightFunction {
    match weights {
        None | Some(KnnWeights::Uniform) => KNNWeightFunction::Uniform,
        Some(KnnWeights::Distance) => KNNWeightFunction::Distance,
    }
}

/// Turns a smartcore failure into an error naming what failed (a model or the prediction).
fn failed(what: &str) -> impl Fn(smartcore::error::Failed) -> anyhow::Error + Copy + '_ {
    move |error| anyhow::anyhow!("smartcore {what} failed: {error}")
}

fn column_means(x: &Matrix) -> Vec<f64> {
    (0..x.columns)
        .map(|column| {
            let (sum, count) = x
                .column(column)
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
            if count == 0 {
                0.0
            } else {
                sum / count as f64
            }
        })
        .collect()
}

/// Population standard deviation of each column.
fn column_deviations(data: &Dense) -> Vec<f64> {
    let (rows, columns) = data.shape();
    (0..columns)
        .map(|c| {
            let mean = (0..rows).map(|r| data.get((r, c))).sum::<f64>() / rows as f64;
            let variance = (0..rows)
                .map(|r| (data.get((r, c)) - mean).powi(2))
                .sum::<f64>()
                / rows as f64;
            variance.sqrt()
        })
        .collect()
}

/// Scaled to sum to 1; uniform when nothing is known (empty, all zero or not finite).
fn normalized(values: Vec<f64>, columns: usize) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    if values.len() != columns
        || !total.is_finite()
        || total <= 0.0
        || values.iter().any(|v| !v.is_finite() || *v < 0.0)
    {
        return vec![1.0 / columns.max(1) as f64; columns];
    }
    values.into_iter().map(|v| v / total).collect()
}

fn dense(x: &Matrix, fill: &[f64]) -> anyhow::Result<Dense> {
    DenseMatrix::new(x.rows, x.columns, x.row_major_filled(fill), false)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Fixtures shared by the tests of every module here, and the tests of what this module decides:
/// the task check, label checks, missing values and the classes a task names.
/// A classification tree: nodes in smartcore's order, the root first.
#[derive(Serialize, Deserialize)]
pub(super) struct ClassTree {
    pub(super) nodes: Vec<TreeNode>,
}

#[derive(Serialize, Deserialize)]
pub(super) enum TreeNode {
    /// Rows with `value <= threshold` go to `left` (smartcore's rule).
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// The share of each task class among the training rows that reach this leaf.
    Leaf(Vec<f64>),
}

impl ClassTree {
    /// The class shares of the leaf `row` reaches.
    pub(super) fn leaf(&self, data: &Dense, row: usize) -> &[f64] {
        let mut node = 0;
        loop {
            match &self.nodes[node] {
                TreeNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    node = if *data.get((row, *feature)) <= *threshold {
                        *left
                    } else {
                        *right
                    }
                }
                TreeNode::Leaf(shares) => return shares,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbt_contract::frameworks::GbmConfig;

    /// A tiny deterministic generator for the synthetic data (xorshift64*).
    struct Random(u64);

    impl Random {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Column 0 and 1 carry the class (or the target), column 2 is noise.
    pub(super) const COLUMNS: usize = 3;

    fn matrix(rows: &[[f64; COLUMNS]]) -> Matrix {
        let mut values = Vec::with_capacity(rows.len() * COLUMNS);
        for column in 0..COLUMNS {
            values.extend(rows.iter().map(|row| row[column]));
        }
        Matrix {
            values,
            rows: rows.len(),
            columns: COLUMNS,
        }
    }

    /// `classes` clusters along the first two columns, with overlap-free noise.
    pub(super) fn classification(classes: usize, rows: usize, seed: u64) -> (Matrix, Vec<f64>) {
        let mut random = Random(seed);
        let mut features = Vec::new();
        let mut labels = Vec::new();
        for row in 0..rows {
            let class = row % classes;
            let center = class as f64 * 3.0;
            features.push([
                center + random.uniform() * 2.0 - 1.0,
                -center + random.uniform() * 2.0 - 1.0,
                random.uniform() * 10.0,
            ]);
            labels.push(class as f64);
        }
        (matrix(&features), labels)
    }

    pub(super) fn regression_data(rows: usize, seed: u64) -> (Matrix, Vec<f64>) {
        let mut random = Random(seed);
        let mut features = Vec::new();
        let mut targets = Vec::new();
        for _ in 0..rows {
            let row = [
                random.uniform() * 4.0,
                random.uniform() * 4.0,
                random.uniform() * 4.0,
            ];
            targets.push(3.0 * row[0] - 2.0 * row[1] + 0.5 + (random.uniform() - 0.5) * 0.2);
            features.push(row);
        }
        (matrix(&features), targets)
    }

    /// Trains once through the `Framework` interface, as a run does.
    pub(super) fn fit(
        config: &SmartcoreConfig,
        x: &Matrix,
        y: &[f64],
        task: Task,
    ) -> anyhow::Result<SerializedModel> {
        Smartcore.train(x, y, task, &FrameworkConfig::Smartcore(config.clone()))
    }

    pub(super) fn predictions(model: &SerializedModel, x: &Matrix) -> Vec<f64> {
        Smartcore.predict(model, x).unwrap()
    }

    /// Trains twice (same bytes), round-trips the serialized model and checks importances.
    pub(super) fn train_checked(
        config: &SmartcoreConfig,
        x: &Matrix,
        y: &[f64],
        task: Task,
    ) -> SerializedModel {
        let model = fit(config, x, y, task).unwrap();
        let again = fit(config, x, y, task).unwrap();
        assert_eq!(model.payload, again.payload, "training is deterministic");
        let stored = serde_json::to_string(&model).unwrap();
        let loaded: SerializedModel = serde_json::from_str(&stored).unwrap();
        assert_eq!(predictions(&loaded, x), predictions(&model, x));
        let importance = Smartcore.feature_importance(&model, x.columns).unwrap();
        assert_eq!(importance.len(), x.columns);
        assert!(
            importance.iter().all(|v| (0.0..=1.0).contains(v)),
            "{importance:?}"
        );
        assert!(
            (importance.iter().sum::<f64>() - 1.0).abs() < 1e-9,
            "{importance:?}"
        );
        model
    }

    pub(super) fn importance(model: &SerializedModel) -> Vec<f64> {
        Smartcore.feature_importance(model, COLUMNS).unwrap()
    }

    /// Binary and 3-class: probabilities, accuracy on fresh rows; returns the importances.
    pub(super) fn check_classifier(config: &SmartcoreConfig) -> Vec<Vec<f64>> {
        let (model, _) = family(config);
        let mut importances = Vec::new();
        for classes in [2, 3] {
            let (x, y) = classification(classes, 90, 11);
            let (test_x, test_y) = classification(classes, 60, 23);
            let task = if classes == 2 {
                Task::Binary
            } else {
                Task::Multiclass(classes)
            };
            let trained = train_checked(config, &x, &y, task);
            let predicted = predictions(&trained, &test_x);
            assert!(
                predicted.iter().all(|p| (0.0..=1.0).contains(p)),
                "{model}: {predicted:?}"
            );
            let chosen: Vec<usize> = if classes == 2 {
                assert_eq!(predicted.len(), test_x.rows);
                predicted.iter().map(|p| usize::from(*p > 0.5)).collect()
            } else {
                assert_eq!(predicted.len(), test_x.rows * classes);
                predicted
                    .chunks(classes)
                    .map(|row| {
                        assert!(
                            (row.iter().sum::<f64>() - 1.0).abs() < 1e-9,
                            "{model}: {row:?}"
                        );
                        (0..classes)
                            .max_by(|a, b| row[*a].total_cmp(&row[*b]))
                            .unwrap()
                    })
                    .collect()
            };
            let correct = chosen
                .iter()
                .zip(&test_y)
                .filter(|(chosen, label)| **chosen as f64 == **label)
                .count();
            let accuracy = correct as f64 / test_y.len() as f64;
            assert!(
                accuracy >= 0.9,
                "{model} with {classes} classes: accuracy {accuracy}"
            );
            importances.push(importance(&trained));
        }
        importances
    }

    /// R² on fresh rows; returns the importances.
    pub(super) fn check_regressor(config: &SmartcoreConfig, minimum_r2: f64) -> Vec<f64> {
        let (model, _) = family(config);
        let (x, y) = regression_data(120, 5);
        let (test_x, test_y) = regression_data(60, 9);
        let trained = train_checked(config, &x, &y, Task::Regression);
        let predicted = predictions(&trained, &test_x);
        assert_eq!(predicted.len(), test_y.len());
        let mean = test_y.iter().sum::<f64>() / test_y.len() as f64;
        let residual: f64 = predicted
            .iter()
            .zip(&test_y)
            .map(|(p, y)| (p - y).powi(2))
            .sum();
        let total: f64 = test_y.iter().map(|y| (y - mean).powi(2)).sum();
        let r2 = 1.0 - residual / total;
        assert!(r2 >= minimum_r2, "{model}: R² {r2}");
        importance(&trained)
    }

    /// The noise column (2) weighs less than the informative ones.
    pub(super) fn noise_is_least(importance: &[f64]) {
        assert!(
            importance[2] < importance[0] && importance[2] < importance[1],
            "{importance:?}"
        );
    }

    /// A config as the manifest carries it: `{"framework": "smartcore", "config": ...}`.
    fn from_json(config: serde_json::Value) -> serde_json::Result<FrameworkConfig> {
        serde_json::from_value(serde_json::json!({"framework": "smartcore", "config": config}))
    }

    /// Every model with its defaults, classifiers first (in [`CLASSIFIERS`] order), then the
    /// regressors in the contract's order.
    fn every_model() -> Vec<SmartcoreConfig> {
        [CLASSIFIERS, REGRESSORS]
            .concat()
            .into_iter()
            .map(
                |model| match from_json(serde_json::json!({ "model": model })) {
                    Ok(FrameworkConfig::Smartcore(config)) => config,
                    other => panic!("{model}: {other:?}"),
                },
            )
            .collect()
    }

    #[test]
    fn families_agree_with_the_model_tags_and_the_name_lists() {
        let models = every_model();
        assert_eq!(models.len(), CLASSIFIERS.len() + REGRESSORS.len());
        for config in &models {
            let (name, family) = family(config);
            assert_eq!(serde_json::to_value(config).unwrap()["model"], name);
            let listed = match family {
                Family::Classifier => CLASSIFIERS,
                Family::Regressor => REGRESSORS,
            };
            assert!(listed.contains(&name), "{name} is not listed as {family:?}");
        }
    }

    #[test]
    fn a_class_missing_from_the_train_set_has_probability_zero() {
        // Four classes configured, three present.
        let (x, y) = classification(3, 90, 11);
        let classifiers = every_model()
            .into_iter()
            .filter(|config| family(config).1 == Family::Classifier)
            .map(|config| match config {
                // A small forest is enough here.
                SmartcoreConfig::RandomForestClassifier { .. } => {
                    SmartcoreConfig::RandomForestClassifier {
                        n_estimators: Some(5),
                        max_depth: None,
                        min_samples_split: None,
                        min_samples_leaf: None,
                        seed: Some(7),
                    }
                }
                other => other,
            })
            .collect::<Vec<_>>();
        assert_eq!(classifiers.len(), CLASSIFIERS.len());
        for config in &classifiers {
            let (model, _) = family(config);
            let trained = fit(config, &x, &y, Task::Multiclass(4)).unwrap();
            let predicted = predictions(&trained, &x);
            for row in predicted.chunks(4) {
                assert_eq!(row[3], 0.0, "{model}");
                assert!(
                    (row.iter().sum::<f64>() - 1.0).abs() < 1e-9,
                    "{model}: {row:?}"
                );
            }
        }
    }

    #[test]
    fn missing_values_are_filled_with_train_means() {
        let (mut x, y) = classification(2, 60, 3);
        x.values[0] = f64::NAN;
        let config = SmartcoreConfig::LogisticRegression { alpha: None };
        let model = fit(&config, &x, &y, Task::Binary).unwrap();
        let predicted = predictions(&model, &x);
        assert!(predicted.iter().all(|p| p.is_finite()));
    }

    #[test]
    fn a_model_for_the_wrong_problem_type_is_an_error() {
        let (x, y) = classification(2, 30, 1);
        let naive_bayes = SmartcoreConfig::GaussianNb {};
        let lasso = SmartcoreConfig::Lasso {
            alpha: None,
            max_iter: None,
        };
        for (config, task, expected) in [
            (
                &naive_bayes,
                Task::Regression,
                "`GaussianNB` is a classifier and cannot be trained for regression",
            ),
            (
                &lasso,
                Task::Multiclass(2),
                "`Lasso` is a regressor and cannot be trained for multiclass",
            ),
            (
                &lasso,
                Task::Binary,
                "`Lasso` is a regressor and cannot be trained for binary",
            ),
        ] {
            // Refused before training (validate_config) and by training itself.
            let framework_config = FrameworkConfig::Smartcore(config.clone());
            let error = Smartcore
                .validate_config(&framework_config, task)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{error}");
            let error = fit(config, &x, &y, task).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
        for config in every_model() {
            let task = match family(&config).1 {
                Family::Classifier => Task::Binary,
                Family::Regressor => Task::Regression,
            };
            Smartcore
                .validate_config(&FrameworkConfig::Smartcore(config), task)
                .unwrap();
        }
    }

    #[test]
    fn another_frameworks_config_is_an_error() {
        let (x, y) = classification(2, 30, 1);
        let gbm = FrameworkConfig::Gbm(GbmConfig::default());
        let error = Smartcore.validate_config(&gbm, Task::Binary).unwrap_err();
        assert_eq!(
            error.to_string(),
            "smartcore cannot train with a `gbm` config"
        );
        let error = Smartcore.train(&x, &y, Task::Binary, &gbm).unwrap_err();
        assert_eq!(
            error.to_string(),
            "smartcore cannot train with a `gbm` config"
        );
    }

    #[test]
    fn unknown_models_and_values_do_not_deserialize() {
        // The typed config cannot hold them: the compiler refuses such a pipeline, and a manifest
        // carrying one fails to load before smartcore sees it.
        for (config, expected) in [
            (serde_json::json!({"model": "SVC"}), "unknown variant `SVC`"),
            (
                serde_json::json!({"model": "KNeighborsClassifier", "weights": "far"}),
                "unknown variant `far`",
            ),
            (
                serde_json::json!({"model": "DecisionTreeClassifier", "criterion": "gain"}),
                "unknown variant `gain`",
            ),
            (
                serde_json::json!({"model": "LinearRegression", "solver": "lu"}),
                "unknown variant `lu`",
            ),
            (
                serde_json::json!({"model": "GaussianNB", "seed": 7}),
                "unknown field `seed`",
            ),
            (
                serde_json::json!({"n_estimators": 5}),
                "missing field `model`",
            ),
        ] {
            let error = from_json(config.clone()).unwrap_err().to_string();
            assert!(error.contains(expected), "{config}: {error}");
        }
        // The same configs with known values do deserialize.
        from_json(serde_json::json!({"model": "KNeighborsClassifier", "weights": "distance"}))
            .unwrap();
    }

    #[test]
    fn bad_labels_are_errors() {
        let (x, mut y) = classification(2, 30, 1);
        let naive_bayes = SmartcoreConfig::GaussianNb {};
        y[0] = 2.0;
        let error = fit(&naive_bayes, &x, &y, Task::Binary).unwrap_err();
        assert!(error.to_string().contains("label 2 at row 0"), "{error}");
        let single: Vec<f64> = vec![0.0; 30];
        let error = fit(&naive_bayes, &x, &single, Task::Binary).unwrap_err();
        assert!(
            error.to_string().contains("at least two classes"),
            "{error}"
        );
    }
}
