//! The smartcore classifiers: training, class probabilities and importances.
//!
//! Probabilities are always over the task's classes `0..k`; a class absent from the train set
//! gets 0:
//! - `DecisionTreeClassifier`: the class shares of the training rows in the leaf a row reaches.
//!   smartcore's own `predict_proba` is one-hot, so the leaves are rebuilt from its serialized
//!   nodes (`internals`).
//! - `RandomForestClassifier`: smartcore's forest (stratified bootstrap, `floor(sqrt(p))` features
//!   drawn at every split, seeded per tree), averaged leaf class shares of each tree's in-bag rows.
//! - `LogisticRegression`: sigmoid of the linear score (binary) or softmax of the per-class scores
//!   (smartcore fits a multinomial model for more than two classes).
//! - `KNeighborsClassifier`: smartcore's `predict_proba`: the (distance-weighted with
//!   `weights: distance`) vote share of the `k` nearest train rows (linear search).
//! - `GaussianNB`: Bayes' rule over smartcore's fitted priors, means and variances, with
//!   scikit-learn's variance smoothing (1e-9 times the largest feature variance).

use anyhow::{bail, Context};
use smartcore::algorithm::neighbour::KNNAlgorithmName;
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::naive_bayes::gaussian::{GaussianNB, GaussianNBParameters};
use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters,
};

use mbt_contract::frameworks::{SmartcoreConfig, SplitCriterion};

use super::internals::{self, FittedForest, FittedTree};
use super::{
    column_deviations, failed, family, knn_weights, neighbours, normalized, Dense, Model,
    TreeSettings, DEFAULT_TREES,
};

/// Trains the classifier of `config` on class indices `labels` (below `classes`); returns the
/// model and the raw importances (normalized by the caller).
pub(super) fn train(
    config: &SmartcoreConfig,
    data: &Dense,
    labels: &[usize],
    classes: usize,
) -> anyhow::Result<(Model, Vec<f64>)> {
    let (name, _) = family(config);
    let failed = failed(name);
    let present = distinct(labels);
    anyhow::ensure!(
        present.len() >= 2,
        "smartcore {name} needs at least two classes in the train set, found {}",
        present.len()
    );
    let targets: Vec<i32> = labels.iter().map(|l| *l as i32).collect();
    let columns = data.shape().1;
    Ok(match config {
        SmartcoreConfig::LogisticRegression { alpha } => {
            let parameters =
                LogisticRegressionParameters::default().with_alpha(alpha.unwrap_or(0.0));
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
        SmartcoreConfig::DecisionTreeClassifier {
            max_depth,
            min_samples_split,
            min_samples_leaf,
            criterion,
            seed,
        } => {
            let settings =
                TreeSettings::new(*max_depth, *min_samples_split, *min_samples_leaf, *seed);
            let mut parameters = DecisionTreeClassifierParameters::default()
                .with_criterion(split_criterion(*criterion))
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
            let fitted: FittedTree = internals::read(&fitted)?;
            let (tree, importance) = internals::class_tree(&fitted, data, labels, None, classes);
            (Model::Trees(vec![tree]), importance)
        }
        SmartcoreConfig::RandomForestClassifier {
            n_estimators,
            max_depth,
            min_samples_split,
            min_samples_leaf,
            seed,
        } => {
            let settings =
                TreeSettings::new(*max_depth, *min_samples_split, *min_samples_leaf, *seed);
            let requested = n_estimators.unwrap_or(DEFAULT_TREES);
            let trees = u16::try_from(requested)
                .ok()
                .filter(|trees| *trees > 0)
                .with_context(|| format!("n_estimators must be 1..=65535, got {requested}"))?;
            let mut parameters = RandomForestClassifierParameters::default()
                .with_n_trees(trees)
                .with_m(((columns as f64).sqrt().floor() as usize).max(1))
                .with_min_samples_leaf(settings.min_samples_leaf)
                .with_min_samples_split(settings.min_samples_split)
                // The bootstrap samples tell which rows each tree's leaves were fitted on.
                .with_keep_samples(true)
                .with_seed(settings.seed);
            if let Some(depth) = settings.max_depth {
                parameters = parameters.with_max_depth(depth);
            }
            let fitted = RandomForestClassifier::<f64, i32, Dense, Vec<i32>>::fit(
                data, &targets, parameters,
            )
            .map_err(failed)?;
            let fitted: FittedForest = internals::read(&fitted)?;
            let fitted_trees = fitted.trees.context("smartcore returned no trees")?;
            let samples = fitted.samples.context("smartcore kept no samples")?;
            let mut importance = vec![0.0; columns];
            let mut trees = Vec::with_capacity(fitted_trees.len());
            for (fitted, in_bag) in fitted_trees.iter().zip(&samples) {
                let (tree, tree_importance) =
                    internals::class_tree(fitted, data, labels, Some(in_bag), classes);
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
        SmartcoreConfig::KNeighborsClassifier { k, weights } => {
            let parameters = KNNClassifierParameters::default()
                .with_k(neighbours(*k, labels.len()))
                .with_algorithm(KNNAlgorithmName::LinearSearch)
                .with_weight(knn_weights(*weights));
            let model = KNNClassifier::fit(data, &targets, parameters).map_err(failed)?;
            let model = Model::Knn {
                classes: present,
                model,
            };
            (model, Vec::new())
        }
        SmartcoreConfig::GaussianNb {} => {
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
        // Listed one by one rather than with a wildcard, so that a new model must be placed.
        SmartcoreConfig::RandomForestRegressor { .. }
        | SmartcoreConfig::DecisionTreeRegressor { .. }
        | SmartcoreConfig::KNeighborsRegressor { .. }
        | SmartcoreConfig::LinearRegression { .. }
        | SmartcoreConfig::Ridge { .. }
        | SmartcoreConfig::Lasso { .. }
        | SmartcoreConfig::ElasticNet { .. } => {
            unreachable!("check_model admits only classifiers for classification, not {name}")
        }
    })
}

/// smartcore's split criterion (Gini unless the config says otherwise).
fn split_criterion(
    criterion: Option<SplitCriterion>,
) -> smartcore::tree::decision_tree_classifier::SplitCriterion {
    use smartcore::tree::decision_tree_classifier::SplitCriterion as Smartcore;
    match criterion {
        None | Some(SplitCriterion::Gini) => Smartcore::Gini,
        Some(SplitCriterion::Entropy) => Smartcore::Entropy,
        Some(SplitCriterion::ClassificationError) => Smartcore::ClassificationError,
    }
}

/// Every row's probability of every task class, row-major.
pub(super) fn probabilities(
    model: &Model,
    data: &Dense,
    classes: usize,
) -> anyhow::Result<Vec<f64>> {
    let (rows, columns) = data.shape();
    let failed = failed("prediction");
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
        Model::Linear(_)
        | Model::Ridge(_)
        | Model::Lasso(_)
        | Model::ElasticNet(_)
        | Model::RegressionTree(_)
        | Model::RegressionForest(_)
        | Model::KnnRegressor(_) => {
            bail!("the smartcore model is a regressor, not a classifier")
        }
    }
    Ok(out)
}

/// Class labels as indices below `classes`; anything else is an error.
pub(super) fn class_labels(y: &[f64], classes: usize) -> anyhow::Result<Vec<usize>> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;
    use crate::adapters::Task;
    use mbt_contract::frameworks::KnnWeights;

    /// A decision tree with seed 7 and only these settings.
    fn tree(max_depth: u32, criterion: Option<SplitCriterion>) -> SmartcoreConfig {
        SmartcoreConfig::DecisionTreeClassifier {
            max_depth: Some(max_depth),
            min_samples_split: None,
            min_samples_leaf: None,
            criterion,
            seed: Some(7),
        }
    }

    #[test]
    fn random_forest_classifier() {
        let importances = check_classifier(&SmartcoreConfig::RandomForestClassifier {
            n_estimators: Some(25),
            max_depth: None,
            min_samples_split: None,
            min_samples_leaf: None,
            seed: Some(7),
        });
        importances.iter().for_each(|i| noise_is_least(i));
    }

    #[test]
    fn decision_tree_classifier() {
        for criterion in [
            SplitCriterion::Gini,
            SplitCriterion::Entropy,
            SplitCriterion::ClassificationError,
        ] {
            check_classifier(&tree(4, Some(criterion)));
        }
    }

    #[test]
    fn logistic_regression() {
        let importances =
            check_classifier(&SmartcoreConfig::LogisticRegression { alpha: Some(0.1) });
        importances.iter().for_each(|i| noise_is_least(i));
    }

    #[test]
    fn k_neighbors_classifier() {
        for weights in [KnnWeights::Uniform, KnnWeights::Distance] {
            let importances = check_classifier(&SmartcoreConfig::KNeighborsClassifier {
                k: Some(5),
                weights: Some(weights),
            });
            // A neighbour vote has no importances: uniform.
            assert!(importances
                .iter()
                .flatten()
                .all(|v| (v - 1.0 / 3.0).abs() < 1e-12));
        }
    }

    #[test]
    fn gaussian_nb() {
        let importances = check_classifier(&SmartcoreConfig::GaussianNb {});
        importances.iter().for_each(|i| noise_is_least(i));
    }

    #[test]
    fn a_depth_limited_tree_gives_leaf_class_shares() {
        // One split cannot separate three classes: some leaf mixes two of them.
        let (x, y) = classification(3, 90, 11);
        let model = train_checked(&tree(1, None), &x, &y, Task::Multiclass(3));
        let predicted = predictions(&model, &x);
        assert!(
            predicted.iter().any(|p| *p > 0.0 && *p < 1.0),
            "{predicted:?}"
        );
    }

    #[test]
    fn unset_parameters_take_the_documented_defaults() {
        // Gini, seed 42, 100 trees, leaves of 1, splits of 2: the same model as when spelled out.
        let (x, y) = classification(2, 60, 5);
        let spelled_out = [
            (
                SmartcoreConfig::DecisionTreeClassifier {
                    max_depth: None,
                    min_samples_split: None,
                    min_samples_leaf: None,
                    criterion: None,
                    seed: None,
                },
                SmartcoreConfig::DecisionTreeClassifier {
                    max_depth: None,
                    min_samples_split: Some(2),
                    min_samples_leaf: Some(1),
                    criterion: Some(SplitCriterion::Gini),
                    seed: Some(42),
                },
            ),
            (
                SmartcoreConfig::RandomForestClassifier {
                    n_estimators: None,
                    max_depth: None,
                    min_samples_split: None,
                    min_samples_leaf: None,
                    seed: None,
                },
                SmartcoreConfig::RandomForestClassifier {
                    n_estimators: Some(100),
                    max_depth: None,
                    min_samples_split: Some(2),
                    min_samples_leaf: Some(1),
                    seed: Some(42),
                },
            ),
            (
                SmartcoreConfig::KNeighborsClassifier {
                    k: None,
                    weights: None,
                },
                SmartcoreConfig::KNeighborsClassifier {
                    k: Some(5),
                    weights: Some(KnnWeights::Uniform),
                },
            ),
            (
                SmartcoreConfig::LogisticRegression { alpha: None },
                SmartcoreConfig::LogisticRegression { alpha: Some(0.0) },
            ),
        ];
        for (defaults, explicit) in spelled_out {
            let (model, _) = family(&defaults);
            assert_eq!(
                fit(&defaults, &x, &y, Task::Binary).unwrap().payload,
                fit(&explicit, &x, &y, Task::Binary).unwrap().payload,
                "{model}"
            );
        }
    }

    #[test]
    fn forests_need_one_to_65535_trees() {
        let (x, y) = classification(2, 30, 1);
        for trees in [0, 70_000] {
            let config = SmartcoreConfig::RandomForestClassifier {
                n_estimators: Some(trees),
                max_depth: None,
                min_samples_split: None,
                min_samples_leaf: None,
                seed: None,
            };
            let error = fit(&config, &x, &y, Task::Binary).unwrap_err().to_string();
            assert_eq!(
                error,
                format!("n_estimators must be 1..=65535, got {trees}")
            );
        }
    }
}
