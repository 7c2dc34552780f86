//! The `smartcore` framework: smartcore models by class name, with class probabilities for every
//! classifier and a real feature importance wherever the fitted model allows one.
//!
//! smartcore fits every model; the payload keeps either the smartcore model (regressors, KNN) or
//! the fitted parameters read out of it (classifiers whose probabilities smartcore does not
//! compute), so prediction never refits. Missing values are filled with the train means.
//!
//! Probabilities (always over the task's classes `0..k`; a class absent from the train set gets 0):
//! - `DecisionTreeClassifier`: the class shares of the training rows in the leaf a row reaches.
//!   smartcore's own `predict_proba` is one-hot; the leaves are read from its serialized nodes.
//! - `RandomForestClassifier`: smartcore's forest (stratified bootstrap, `floor(sqrt(p))` features
//!   drawn at every split, seeded per tree), averaged leaf class shares of each tree's in-bag rows.
//! - `LogisticRegression`: sigmoid of the linear score (binary) or softmax of the per-class scores
//!   (smartcore fits a multinomial model for more than two classes).
//! - `KNeighborsClassifier`: smartcore's `predict_proba`: the (distance-weighted with
//!   `weights: distance`) vote share of the `k` nearest train rows (linear search).
//! - `GaussianNB`: Bayes' rule over smartcore's fitted priors, means and variances, with
//!   scikit-learn's variance smoothing (1e-9 times the largest feature variance).
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
//!
//! `RandomForestRegressor` draws `max(1, p / 3)` features per split; there is no config key for
//! the number yet. Reads the serialized form of smartcore 0.7.0 internals (tree nodes): the
//! version is pinned and the tests fail if that form changes.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use smartcore::algorithm::neighbour::KNNAlgorithmName;
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::elastic_net::{ElasticNet, ElasticNetParameters};
use smartcore::linear::lasso::{Lasso, LassoParameters};
use smartcore::linear::linear_regression::{
    LinearRegression, LinearRegressionParameters, LinearRegressionSolverName,
};
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::linear::ridge_regression::{RidgeRegression, RidgeRegressionParameters};
use smartcore::metrics::distance::euclidian::Euclidian;
use smartcore::naive_bayes::gaussian::{GaussianNB, GaussianNBParameters};
use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};
use smartcore::neighbors::knn_regressor::{KNNRegressor, KNNRegressorParameters};
use smartcore::neighbors::KNNWeightFunction;
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters, SplitCriterion,
};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use mbt_contract::frameworks::FrameworkConfig;

use super::{Adapter, Framework, SerializedModel, Task};
use crate::features::{Columns, Matrix};

pub struct Smartcore;

/// 2: classifiers store fitted parameters (leaf class shares, scores), the output kind and the
/// importances; regressors added KNN, Lasso and ElasticNet.
const FORMAT_VERSION: u32 = 2;

/// Every model name this adapter trains, classifiers first.
const CLASSIFIERS: &[&str] = &[
    "RandomForestClassifier",
    "DecisionTreeClassifier",
    "LogisticRegression",
    "KNeighborsClassifier",
    "GaussianNB",
];
use mbt_contract::frameworks::SMARTCORE_REGRESSORS as REGRESSORS;

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

/// A classification tree: nodes in smartcore's order, the root first.
#[derive(Serialize, Deserialize)]
struct ClassTree {
    nodes: Vec<TreeNode>,
}

#[derive(Serialize, Deserialize)]
enum TreeNode {
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

/// The parts of smartcore 0.7.0's serialized `DecisionTreeClassifier` that we read.
#[derive(Deserialize)]
struct FittedTree {
    nodes: Vec<FittedNode>,
    classes: Vec<i32>,
}

#[derive(Deserialize)]
struct FittedNode {
    output: usize,
    n_node_samples: usize,
    split_feature: usize,
    split_value: Option<f64>,
    true_child: Option<usize>,
    false_child: Option<usize>,
    impurity: Option<f64>,
}

/// The parts of smartcore 0.7.0's serialized `RandomForestClassifier` that we read.
#[derive(Deserialize)]
struct FittedForest {
    trees: Option<Vec<FittedTree>>,
    /// Per tree, whether each train row was in its bootstrap sample.
    samples: Option<Vec<Vec<bool>>>,
}

/// The config keys shared by the models, read once.
struct Settings<'a> {
    name: &'a str,
    seed: u64,
    max_depth: Option<u16>,
    min_samples_leaf: usize,
    min_samples_split: usize,
    trees: usize,
}

impl Adapter for Smartcore {}

impl Framework for Smartcore {
    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel> {
        let FrameworkConfig::Smartcore(config) = config else {
            bail!("smartcore cannot train with a `{}` config", config.name());
        };
        self.fit(x, y, task, &serde_json::to_value(config)?)
    }

    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
        self.score(model, x)
    }

    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>> {
        self.importance(model, columns)
    }
}

impl Smartcore {
    /// Trains from the config as JSON (`model` plus its parameters).
    fn fit(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &Value,
    ) -> anyhow::Result<SerializedModel> {
        let x = &*Matrix::gather(x)?;
        let name = config
            .get("model")
            .and_then(Value::as_str)
            .context("smartcore needs `model`")?;
        check_model(name, task)?;
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
        let settings = Settings {
            name,
            seed: config.get("seed").and_then(Value::as_u64).unwrap_or(42),
            max_depth: number(config, "max_depth").map(|d| d as u16),
            min_samples_leaf: number(config, "min_samples_leaf").map_or(1, |v| v as usize),
            min_samples_split: number(config, "min_samples_split").map_or(2, |v| v as usize),
            trees: number(config, "n_estimators").map_or(100, |v| v as usize),
        };
        let (output, model, importance) = match task {
            Task::Binary => {
                let labels = class_labels(y, 2)?;
                let (model, importance) = train_classifier(&settings, config, &data, &labels, 2)?;
                (Output::Positive, model, importance)
            }
            Task::Multiclass(classes) => {
                let labels = class_labels(y, classes)?;
                let (model, importance) =
                    train_classifier(&settings, config, &data, &labels, classes)?;
                (Output::Classes(classes), model, importance)
            }
            Task::Regression => {
                let (model, importance) = train_regressor(&settings, config, &data, y)?;
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

    fn score(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>> {
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
            Output::Value => regression(&payload.model, &data)?,
            Output::Positive => probabilities(&payload.model, &data, 2)?
                .chunks(2)
                .map(|row| row[1])
                .collect(),
            Output::Classes(classes) => probabilities(&payload.model, &data, classes)?,
        })
    }

    fn importance(&self, model: &SerializedModel, columns: usize) -> anyhow::Result<Vec<f64>> {
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

/// A classifier for regression, a regressor for classification or an unknown name is an error.
fn check_model(name: &str, task: Task) -> anyhow::Result<()> {
    let classification = !matches!(task, Task::Regression);
    let problem = match task {
        Task::Binary => "binary classification",
        Task::Multiclass(_) => "multiclass classification",
        Task::Regression => "regression",
    };
    let fitting = if classification {
        CLASSIFIERS
    } else {
        REGRESSORS
    };
    if fitting.contains(&name) {
        return Ok(());
    }
    let kind = if CLASSIFIERS.contains(&name) {
        "a classifier"
    } else if REGRESSORS.contains(&name) {
        "a regressor"
    } else {
        bail!(
            "unknown smartcore model `{name}` (available: {})",
            [CLASSIFIERS, REGRESSORS].concat().join(", ")
        )
    };
    bail!(
        "smartcore model `{name}` is {kind} and cannot be trained for {problem} (use one of: {})",
        fitting.join(", ")
    )
}

fn train_classifier(
    settings: &Settings,
    config: &Value,
    data: &Dense,
    labels: &[usize],
    classes: usize,
) -> anyhow::Result<(Model, Vec<f64>)> {
    let name = settings.name;
    let failed =
        |error: smartcore::error::Failed| anyhow::anyhow!("smartcore {name} failed: {error}");
    let present = distinct(labels);
    anyhow::ensure!(
        present.len() >= 2,
        "smartcore {name} needs at least two classes in the train set, found {}",
        present.len()
    );
    let targets: Vec<i32> = labels.iter().map(|l| *l as i32).collect();
    let columns = data.shape().1;
    Ok(match name {
        "LogisticRegression" => {
            let alpha = number(config, "alpha").unwrap_or(0.0);
            let parameters = LogisticRegressionParameters::default().with_alpha(alpha);
            let model = LogisticRegression::fit(data, &targets, parameters).map_err(failed)?;
            let coefficients = model.coefficients();
            let (rows, width) = coefficients.shape();
            assert_eq!(
                width, columns,
                "smartcore logistic coefficients are per column"
            );
            let weights: Vec<Vec<f64>> = (0..rows)
                .map(|row| (0..width).map(|c| *coefficients.get((row, c))).collect())
                .collect();
            let intercepts: Vec<f64> = model.intercept().iterator(0).copied().collect();
            assert_eq!(intercepts.len(), rows, "one intercept per score row");
            assert!(
                (rows == 1 && present.len() == 2) || rows == present.len(),
                "smartcore logistic regression has one score row (binary) or one per class"
            );
            let deviations = column_deviations(data);
            let importance = (0..columns)
                .map(|c| weights.iter().map(|w| w[c].abs()).sum::<f64>() * deviations[c])
                .collect();
            let model = Model::Logistic {
                classes: present,
                weights,
                intercepts,
            };
            (model, importance)
        }
        "DecisionTreeClassifier" => {
            let mut parameters = DecisionTreeClassifierParameters::default()
                .with_criterion(criterion(config)?)
                .with_min_samples_leaf(settings.min_samples_leaf)
                .with_min_samples_split(settings.min_samples_split);
            if let Some(depth) = settings.max_depth {
                parameters = parameters.with_max_depth(depth);
            }
            parameters.seed = Some(settings.seed);
            let fitted = DecisionTreeClassifier::<f64, i32, Dense, Vec<i32>>::fit(
                data, &targets, parameters,
            )
            .map_err(failed)?;
            let fitted: FittedTree = read_internals(&fitted)?;
            let (tree, importance) = class_tree(&fitted, data, labels, None, classes);
            (Model::Trees(vec![tree]), importance)
        }
        "RandomForestClassifier" => {
            let trees = u16::try_from(settings.trees)
                .ok()
                .filter(|trees| *trees > 0)
                .with_context(|| {
                    format!("n_estimators must be 1..=65535, got {}", settings.trees)
                })?;
            let mut parameters = RandomForestClassifierParameters::default()
                .with_n_trees(trees)
                .with_m(((columns as f64).sqrt().floor() as usize).max(1))
                .with_min_samples_leaf(settings.min_samples_leaf)
                .with_min_samples_split(settings.min_samples_split)
                .with_keep_samples(true)
                .with_seed(settings.seed);
            if let Some(depth) = settings.max_depth {
                parameters = parameters.with_max_depth(depth);
            }
            let fitted = RandomForestClassifier::<f64, i32, Dense, Vec<i32>>::fit(
                data, &targets, parameters,
            )
            .map_err(failed)?;
            let fitted: FittedForest = read_internals(&fitted)?;
            let fitted_trees = fitted.trees.context("smartcore returned no trees")?;
            let samples = fitted.samples.context("smartcore kept no samples")?;
            let mut importance = vec![0.0; columns];
            let mut trees = Vec::with_capacity(fitted_trees.len());
            for (fitted, in_bag) in fitted_trees.iter().zip(&samples) {
                let (tree, tree_importance) =
                    class_tree(fitted, data, labels, Some(in_bag), classes);
                for (total, value) in importance
                    .iter_mut()
                    .zip(normalized(tree_importance, columns))
                {
                    *total += value;
                }
                trees.push(tree);
            }
            (Model::Trees(trees), importance)
        }
        "KNeighborsClassifier" => {
            let parameters = KNNClassifierParameters::default()
                .with_k(neighbours(config, labels.len()))
                .with_algorithm(KNNAlgorithmName::LinearSearch)
                .with_weight(weights(config)?);
            let model = KNNClassifier::fit(data, &targets, parameters).map_err(failed)?;
            let model = Model::Knn {
                classes: present,
                model,
            };
            (model, Vec::new())
        }
        "GaussianNB" => {
            let targets: Vec<u32> = labels.iter().map(|l| *l as u32).collect();
            let model = GaussianNB::<f64, u32, Dense, Vec<u32>>::fit(
                data,
                &targets,
                GaussianNBParameters::default(),
            )
            .map_err(failed)?;
            // scikit-learn's var_smoothing: a share of the largest column variance.
            let largest = column_deviations(data)
                .iter()
                .map(|d| d * d)
                .fold(0.0, f64::max);
            let epsilon = if largest > 0.0 { 1e-9 * largest } else { 1e-9 };
            let priors = model.class_priors().clone();
            let means = model.theta().clone();
            let variances: Vec<Vec<f64>> = model
                .var()
                .iter()
                .map(|row| row.iter().map(|v| v + epsilon).collect())
                .collect();
            let importance = (0..columns)
                .map(|c| {
                    let mean: f64 = priors.iter().zip(&means).map(|(p, m)| p * m[c]).sum();
                    let between: f64 = priors
                        .iter()
                        .zip(&means)
                        .map(|(p, m)| p * (m[c] - mean).powi(2))
                        .sum();
                    let within: f64 = priors.iter().zip(&variances).map(|(p, v)| p * v[c]).sum();
                    between / within
                })
                .collect();
            let classes = model.classes().iter().map(|c| *c as usize).collect();
            let model = Model::GaussianNb {
                classes,
                priors,
                means,
                variances,
            };
            (model, importance)
        }
        _ => unreachable!("check_model admits only known classifiers"),
    })
}

fn train_regressor(
    settings: &Settings,
    config: &Value,
    data: &Dense,
    y: &[f64],
) -> anyhow::Result<(Model, Vec<f64>)> {
    let name = settings.name;
    let failed =
        |error: smartcore::error::Failed| anyhow::anyhow!("smartcore {name} failed: {error}");
    let targets = y.to_vec();
    let columns = data.shape().1;
    let alpha = number(config, "alpha");
    let max_iter = number(config, "max_iter").map(|v| v as usize);
    // |coefficient| on standardized inputs.
    let linear_importance = |coefficients: &Dense| -> Vec<f64> {
        let deviations = column_deviations(data);
        coefficients
            .iterator(0)
            .zip(deviations)
            .map(|(w, deviation)| w.abs() * deviation)
            .collect()
    };
    Ok(match name {
        "LinearRegression" => {
            let solver = match config.get("solver").and_then(Value::as_str) {
                None | Some("svd") => LinearRegressionSolverName::SVD,
                Some("qr") => LinearRegressionSolverName::QR,
                Some(other) => bail!("unknown LinearRegression solver `{other}` (use qr or svd)"),
            };
            let parameters = LinearRegressionParameters::default().with_solver(solver);
            let model = LinearRegression::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::Linear(model), importance)
        }
        "Ridge" => {
            let parameters = RidgeRegressionParameters::default().with_alpha(alpha.unwrap_or(1.0));
            let model = RidgeRegression::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::Ridge(model), importance)
        }
        "Lasso" => {
            let mut parameters = LassoParameters::default().with_alpha(alpha.unwrap_or(1.0));
            if let Some(max_iter) = max_iter {
                parameters = parameters.with_max_iter(max_iter);
            }
            let model = Lasso::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::Lasso(model), importance)
        }
        "ElasticNet" => {
            let mut parameters = ElasticNetParameters::default()
                .with_alpha(alpha.unwrap_or(1.0))
                .with_l1_ratio(number(config, "l1_ratio").unwrap_or(0.5));
            if let Some(max_iter) = max_iter {
                parameters = parameters.with_max_iter(max_iter);
            }
            let model = ElasticNet::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::ElasticNet(model), importance)
        }
        "DecisionTreeRegressor" => {
            let mut parameters = DecisionTreeRegressorParameters::default()
                .with_min_samples_leaf(settings.min_samples_leaf)
                .with_min_samples_split(settings.min_samples_split);
            if let Some(depth) = settings.max_depth {
                parameters = parameters.with_max_depth(depth);
            }
            parameters.seed = Some(settings.seed);
            let model = DecisionTreeRegressor::fit(data, &targets, parameters).map_err(failed)?;
            let importance = model.compute_feature_importances(true).map_err(failed)?;
            (Model::RegressionTree(model), importance)
        }
        "RandomForestRegressor" => {
            anyhow::ensure!(settings.trees > 0, "n_estimators must be at least 1");
            let mut parameters = RandomForestRegressorParameters::default()
                .with_n_trees(settings.trees)
                .with_m((columns / 3).max(1))
                .with_min_samples_leaf(settings.min_samples_leaf)
                .with_min_samples_split(settings.min_samples_split)
                .with_seed(settings.seed);
            if let Some(depth) = settings.max_depth {
                parameters = parameters.with_max_depth(depth);
            }
            let model = RandomForestRegressor::fit(data, &targets, parameters).map_err(failed)?;
            let importance = model.compute_feature_importances().map_err(failed)?;
            (Model::RegressionForest(model), importance)
        }
        "KNeighborsRegressor" => {
            let parameters = KNNRegressorParameters::default()
                .with_k(neighbours(config, y.len()))
                .with_algorithm(KNNAlgorithmName::LinearSearch)
                .with_weight(weights(config)?);
            let model = KNNRegressor::fit(data, &targets, parameters).map_err(failed)?;
            (Model::KnnRegressor(model), Vec::new())
        }
        _ => unreachable!("check_model admits only known regressors"),
    })
}

/// Every row's probability of every task class, row-major.
fn probabilities(model: &Model, data: &Dense, classes: usize) -> anyhow::Result<Vec<f64>> {
    let (rows, columns) = data.shape();
    let failed =
        |error: smartcore::error::Failed| anyhow::anyhow!("smartcore prediction failed: {error}");
    let mut out = vec![0.0; rows * classes];
    match model {
        Model::Logistic {
            classes: score_classes,
            weights,
            intercepts,
        } => {
            let mut scores = vec![0.0; weights.len()];
            for row in 0..rows {
                for ((score, w), b) in scores.iter_mut().zip(weights).zip(intercepts) {
                    *score = b + (0..columns).map(|c| data.get((row, c)) * w[c]).sum::<f64>();
                }
                let target = &mut out[row * classes..(row + 1) * classes];
                if let [score] = scores[..] {
                    let positive = 1.0 / (1.0 + (-score).exp());
                    target[score_classes[0]] = 1.0 - positive;
                    target[score_classes[1]] = positive;
                } else {
                    let most = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let total: f64 = scores.iter().map(|s| (s - most).exp()).sum();
                    for (score, class) in scores.iter().zip(score_classes) {
                        target[*class] = (score - most).exp() / total;
                    }
                }
            }
        }
        Model::Trees(trees) => {
            for row in 0..rows {
                let target = &mut out[row * classes..(row + 1) * classes];
                for tree in trees {
                    let leaf = tree.leaf(data, row);
                    anyhow::ensure!(
                        leaf.len() == classes,
                        "the model has {} classes",
                        leaf.len()
                    );
                    for (total, value) in target.iter_mut().zip(leaf) {
                        *total += value;
                    }
                }
                // Summed first, divided once: rounding must not push a share past 1.
                for total in target.iter_mut() {
                    *total = (*total / trees.len() as f64).min(1.0);
                }
            }
        }
        Model::Knn {
            classes: columns_classes,
            model,
        } => {
            for (row, shares) in model
                .predict_proba(data)
                .map_err(failed)?
                .iter()
                .enumerate()
            {
                for (value, class) in shares.iter().zip(columns_classes) {
                    out[row * classes + class] = *value;
                }
            }
        }
        Model::GaussianNb {
            classes: model_classes,
            priors,
            means,
            variances,
        } => {
            let mut scores = vec![0.0; model_classes.len()];
            for row in 0..rows {
                for (class, score) in scores.iter_mut().enumerate() {
                    *score = priors[class].ln()
                        + (0..columns)
                            .map(|c| {
                                let variance = variances[class][c];
                                let distance = data.get((row, c)) - means[class][c];
                                -0.5 * (2.0 * std::f64::consts::PI * variance).ln()
                                    - distance * distance / (2.0 * variance)
                            })
                            .sum::<f64>();
                }
                let most = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = scores.iter().map(|s| (s - most).exp()).sum();
                for (score, class) in scores.iter().zip(model_classes) {
                    out[row * classes + class] = (score - most).exp() / total;
                }
            }
        }
        _ => bail!("the smartcore model is a regressor, not a classifier"),
    }
    Ok(out)
}

fn regression(model: &Model, data: &Dense) -> anyhow::Result<Vec<f64>> {
    let failed =
        |error: smartcore::error::Failed| anyhow::anyhow!("smartcore prediction failed: {error}");
    Ok(match model {
        Model::Linear(model) => model.predict(data).map_err(failed)?,
        Model::Ridge(model) => model.predict(data).map_err(failed)?,
        Model::Lasso(model) => model.predict(data).map_err(failed)?,
        Model::ElasticNet(model) => model.predict(data).map_err(failed)?,
        Model::RegressionTree(model) => model.predict(data).map_err(failed)?,
        Model::RegressionForest(model) => model.predict(data).map_err(failed)?,
        Model::KnnRegressor(model) => model.predict(data).map_err(failed)?,
        _ => bail!("the smartcore model is a classifier, not a regressor"),
    })
}

impl ClassTree {
    /// The class shares of the leaf `row` reaches.
    fn leaf(&self, data: &Dense, row: usize) -> &[f64] {
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

/// Our tree from smartcore's: leaves get the class shares of the (in-bag) train rows reaching
/// them; also the impurity decrease per column.
fn class_tree(
    fitted: &FittedTree,
    data: &Dense,
    labels: &[usize],
    in_bag: Option<&[bool]>,
    classes: usize,
) -> (ClassTree, Vec<f64>) {
    let columns = data.shape().1;
    let is_split = |node: &FittedNode| node.true_child.is_some() && node.false_child.is_some();
    let mut counts = vec![vec![0usize; classes]; fitted.nodes.len()];
    for (row, label) in labels.iter().enumerate() {
        if in_bag.is_some_and(|in_bag| !in_bag[row]) {
            continue;
        }
        let mut node = 0;
        while is_split(&fitted.nodes[node]) {
            let current = &fitted.nodes[node];
            let threshold = current.split_value.unwrap_or(f64::NAN);
            node = if *data.get((row, current.split_feature)) <= threshold {
                current.true_child.unwrap()
            } else {
                current.false_child.unwrap()
            };
        }
        counts[node][*label] += 1;
    }
    let nodes = fitted
        .nodes
        .iter()
        .zip(&counts)
        .map(|(node, counts)| {
            if is_split(node) {
                return TreeNode::Split {
                    feature: node.split_feature,
                    threshold: node.split_value.unwrap_or(f64::NAN),
                    left: node.true_child.unwrap(),
                    right: node.false_child.unwrap(),
                };
            }
            let total: usize = counts.iter().sum();
            let mut shares = vec![0.0; classes];
            if total == 0 {
                // No row reached it (cannot happen for a fitted leaf): smartcore's own answer.
                shares[fitted.classes[node.output] as usize] = 1.0;
            } else {
                for (share, count) in shares.iter_mut().zip(counts) {
                    *share = *count as f64 / total as f64;
                }
            }
            TreeNode::Leaf(shares)
        })
        .collect();
    let mut importance = vec![0.0; columns];
    let weighted = |node: &FittedNode| node.n_node_samples as f64 * node.impurity.unwrap_or(0.0);
    for node in &fitted.nodes {
        if let (Some(left), Some(right)) = (node.true_child, node.false_child) {
            let decrease =
                weighted(node) - weighted(&fitted.nodes[left]) - weighted(&fitted.nodes[right]);
            importance[node.split_feature] += decrease.max(0.0);
        }
    }
    (ClassTree { nodes }, importance)
}

/// Reads a fitted smartcore model's private fields through its serde form.
fn read_internals<T: Serialize, U: serde::de::DeserializeOwned>(model: &T) -> anyhow::Result<U> {
    serde_json::to_value(model)
        .and_then(serde_json::from_value)
        .context("unexpected serialized form of a smartcore model (is smartcore still 0.7.0?)")
}

fn number(config: &Value, key: &str) -> Option<f64> {
    config.get(key).and_then(Value::as_f64)
}

fn criterion(config: &Value) -> anyhow::Result<SplitCriterion> {
    Ok(match config.get("criterion").and_then(Value::as_str) {
        None | Some("gini") => SplitCriterion::Gini,
        Some("entropy") => SplitCriterion::Entropy,
        Some("classification_error") => SplitCriterion::ClassificationError,
        Some(other) => {
            bail!("unknown criterion `{other}` (use gini, entropy or classification_error)")
        }
    })
}

fn weights(config: &Value) -> anyhow::Result<KNNWeightFunction> {
    Ok(match config.get("weights").and_then(Value::as_str) {
        None | Some("uniform") => KNNWeightFunction::Uniform,
        Some("distance") => KNNWeightFunction::Distance,
        Some(other) => bail!("unknown weights `{other}` (use uniform or distance)"),
    })
}

/// `k` (default 5, as in scikit-learn), at most the number of train rows.
fn neighbours(config: &Value, rows: usize) -> usize {
    number(config, "k")
        .map_or(5, |k| k as usize)
        .clamp(1, rows.max(1))
}

/// Class labels as indices below `classes`; anything else is an error.
fn class_labels(y: &[f64], classes: usize) -> anyhow::Result<Vec<usize>> {
    y.iter()
        .enumerate()
        .map(|(row, value)| {
            if value.fract() == 0.0 && *value >= 0.0 && (*value as usize) < classes {
                Ok(*value as usize)
            } else {
                bail!("label {value} at row {row} is not a class index below {classes}")
            }
        })
        .collect()
}

/// The sorted distinct labels (smartcore's class order).
fn distinct(labels: &[usize]) -> Vec<usize> {
    let mut present = labels.to_vec();
    present.sort_unstable();
    present.dedup();
    present
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

#[cfg(test)]
mod tests {
    use super::*;

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
    const COLUMNS: usize = 3;

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
    fn classification(classes: usize, rows: usize, seed: u64) -> (Matrix, Vec<f64>) {
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

    fn regression_data(rows: usize, seed: u64) -> (Matrix, Vec<f64>) {
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

    fn config(model: &str, extra: Value) -> Value {
        let mut config = serde_json::json!({ "model": model, "seed": 7 });
        for (key, value) in extra.as_object().unwrap() {
            config[key] = value.clone();
        }
        config
    }

    /// Trains twice (same bytes), round-trips the serialized model and checks importances.
    fn train(config: &Value, x: &Matrix, y: &[f64], task: Task) -> SerializedModel {
        let model = Smartcore.fit(x, y, task, config).unwrap();
        let again = Smartcore.fit(x, y, task, config).unwrap();
        assert_eq!(model.payload, again.payload, "training is deterministic");
        let stored = serde_json::to_string(&model).unwrap();
        let loaded: SerializedModel = serde_json::from_str(&stored).unwrap();
        assert_eq!(
            Smartcore.score(&loaded, x).unwrap(),
            Smartcore.score(&model, x).unwrap()
        );
        let importance = Smartcore.importance(&model, x.columns).unwrap();
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

    fn importance(model: &SerializedModel) -> Vec<f64> {
        Smartcore.importance(model, COLUMNS).unwrap()
    }

    /// Binary and 3-class: probabilities, accuracy on fresh rows; returns the importances.
    fn check_classifier(model: &str, extra: Value) -> Vec<Vec<f64>> {
        let config = config(model, extra);
        let mut importances = Vec::new();
        for classes in [2, 3] {
            let (x, y) = classification(classes, 90, 11);
            let (test_x, test_y) = classification(classes, 60, 23);
            let task = if classes == 2 {
                Task::Binary
            } else {
                Task::Multiclass(classes)
            };
            let trained = train(&config, &x, &y, task);
            let predicted = Smartcore.score(&trained, &test_x).unwrap();
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
    fn check_regressor(model: &str, extra: Value, minimum_r2: f64) -> Vec<f64> {
        let config = config(model, extra);
        let (x, y) = regression_data(120, 5);
        let (test_x, test_y) = regression_data(60, 9);
        let trained = train(&config, &x, &y, Task::Regression);
        let predicted = Smartcore.score(&trained, &test_x).unwrap();
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
    fn noise_is_least(importance: &[f64]) {
        assert!(
            importance[2] < importance[0] && importance[2] < importance[1],
            "{importance:?}"
        );
    }

    #[test]
    fn random_forest_classifier() {
        let importances = check_classifier(
            "RandomForestClassifier",
            serde_json::json!({"n_estimators": 25}),
        );
        importances.iter().for_each(|i| noise_is_least(i));
    }

    #[test]
    fn decision_tree_classifier() {
        for criterion in ["gini", "entropy", "classification_error"] {
            check_classifier(
                "DecisionTreeClassifier",
                serde_json::json!({"criterion": criterion, "max_depth": 4}),
            );
        }
    }

    #[test]
    fn logistic_regression() {
        let importances = check_classifier("LogisticRegression", serde_json::json!({"alpha": 0.1}));
        importances.iter().for_each(|i| noise_is_least(i));
    }

    #[test]
    fn k_neighbors_classifier() {
        for weights in ["uniform", "distance"] {
            let importances = check_classifier(
                "KNeighborsClassifier",
                serde_json::json!({"k": 5, "weights": weights}),
            );
            // A neighbour vote has no importances: uniform.
            assert!(importances
                .iter()
                .flatten()
                .all(|v| (v - 1.0 / 3.0).abs() < 1e-12));
        }
    }

    #[test]
    fn gaussian_nb() {
        let importances = check_classifier("GaussianNB", serde_json::json!({}));
        importances.iter().for_each(|i| noise_is_least(i));
    }

    #[test]
    fn random_forest_regressor() {
        let importance = check_regressor(
            "RandomForestRegressor",
            serde_json::json!({"n_estimators": 30}),
            0.8,
        );
        noise_is_least(&importance);
    }

    #[test]
    fn decision_tree_regressor() {
        let importance = check_regressor(
            "DecisionTreeRegressor",
            serde_json::json!({"max_depth": 6}),
            0.8,
        );
        noise_is_least(&importance);
    }

    #[test]
    fn k_neighbors_regressor() {
        for weights in ["uniform", "distance"] {
            check_regressor(
                "KNeighborsRegressor",
                serde_json::json!({"k": 4, "weights": weights}),
                0.8,
            );
        }
    }

    #[test]
    fn linear_regression() {
        for solver in ["qr", "svd"] {
            let importance = check_regressor(
                "LinearRegression",
                serde_json::json!({"solver": solver}),
                0.99,
            );
            noise_is_least(&importance);
        }
    }

    #[test]
    fn ridge() {
        noise_is_least(&check_regressor(
            "Ridge",
            serde_json::json!({"alpha": 0.5}),
            0.95,
        ));
    }

    #[test]
    fn lasso() {
        noise_is_least(&check_regressor(
            "Lasso",
            serde_json::json!({"alpha": 0.05, "max_iter": 500}),
            0.95,
        ));
    }

    #[test]
    fn elastic_net() {
        noise_is_least(&check_regressor(
            "ElasticNet",
            serde_json::json!({"alpha": 0.05, "l1_ratio": 0.7, "max_iter": 500}),
            0.95,
        ));
    }

    #[test]
    fn a_depth_limited_tree_gives_leaf_class_shares() {
        // One split cannot separate three classes: some leaf mixes two of them.
        let (x, y) = classification(3, 90, 11);
        let config = config(
            "DecisionTreeClassifier",
            serde_json::json!({"max_depth": 1}),
        );
        let model = train(&config, &x, &y, Task::Multiclass(3));
        let predicted = Smartcore.score(&model, &x).unwrap();
        assert!(
            predicted.iter().any(|p| *p > 0.0 && *p < 1.0),
            "{predicted:?}"
        );
    }

    #[test]
    fn a_class_missing_from_the_train_set_has_probability_zero() {
        // Four classes configured, three present.
        let (x, y) = classification(3, 90, 11);
        for model in CLASSIFIERS {
            let config = config(model, serde_json::json!({"n_estimators": 5}));
            let trained = Smartcore.fit(&x, &y, Task::Multiclass(4), &config).unwrap();
            let predicted = Smartcore.score(&trained, &x).unwrap();
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
        let config = config("LogisticRegression", serde_json::json!({}));
        let model = Smartcore.fit(&x, &y, Task::Binary, &config).unwrap();
        let predicted = Smartcore.score(&model, &x).unwrap();
        assert!(predicted.iter().all(|p| p.is_finite()));
    }

    #[test]
    fn a_model_for_the_wrong_problem_type_is_an_error() {
        let (x, y) = classification(2, 30, 1);
        let error = Smartcore
            .fit(
                &x,
                &y,
                Task::Regression,
                &config("GaussianNB", serde_json::json!({})),
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`GaussianNB` is a classifier and cannot be trained for regression"),
            "{error}"
        );
        let error = Smartcore
            .fit(
                &x,
                &y,
                Task::Multiclass(2),
                &config("Lasso", serde_json::json!({})),
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`Lasso` is a regressor and cannot be trained for multiclass"),
            "{error}"
        );
        let error = Smartcore
            .fit(&x, &y, Task::Binary, &config("SVC", serde_json::json!({})))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("unknown smartcore model `SVC`"),
            "{error}"
        );
    }

    #[test]
    fn bad_labels_and_config_values_are_errors() {
        let (x, mut y) = classification(2, 30, 1);
        let bad_weights = config(
            "KNeighborsClassifier",
            serde_json::json!({"weights": "far"}),
        );
        let error = Smartcore
            .fit(&x, &y, Task::Binary, &bad_weights)
            .unwrap_err();
        assert!(
            error.to_string().contains("unknown weights `far`"),
            "{error}"
        );
        y[0] = 2.0;
        let error = Smartcore
            .fit(
                &x,
                &y,
                Task::Binary,
                &config("GaussianNB", serde_json::json!({})),
            )
            .unwrap_err();
        assert!(error.to_string().contains("label 2 at row 0"), "{error}");
        let single: Vec<f64> = vec![0.0; 30];
        let error = Smartcore
            .fit(
                &x,
                &single,
                Task::Binary,
                &config("GaussianNB", serde_json::json!({})),
            )
            .unwrap_err();
        assert!(
            error.to_string().contains("at least two classes"),
            "{error}"
        );
    }
}
