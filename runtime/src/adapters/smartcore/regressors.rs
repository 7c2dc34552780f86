//! The smartcore regressors: training and prediction. The payload keeps smartcore's own fitted
//! model for each of them, so prediction is smartcore's.
//!
//! Importances: `|coefficient| * std(column)` for the linear models, smartcore's squared-error
//! decrease for trees and forests, none (uniform) for KNN. `RandomForestRegressor` draws
//! `max(1, p / 3)` features per split; there is no config key for the number yet.

use smartcore::algorithm::neighbour::KNNAlgorithmName;
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linear::elastic_net::{ElasticNet, ElasticNetParameters};
use smartcore::linear::lasso::{Lasso, LassoParameters};
use smartcore::linear::linear_regression::{
    LinearRegression, LinearRegressionParameters, LinearRegressionSolverName,
};
use smartcore::linear::ridge_regression::{RidgeRegression, RidgeRegressionParameters};
use smartcore::neighbors::knn_regressor::{KNNRegressor, KNNRegressorParameters};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use mbt_contract::frameworks::{LinearSolver, SmartcoreConfig};

use super::{
    column_deviations, failed, family, knn_weights, neighbours, Dense, Model, TreeSettings,
    DEFAULT_TREES,
};

/// The regularization strength of Ridge, Lasso and ElasticNet when the config names none.
const DEFAULT_ALPHA: f64 = 1.0;

/// Trains the regressor of `config` on targets `y`; returns the model and the raw importances
/// (normalized by the caller).
pub(super) fn train(
    config: &SmartcoreConfig,
    data: &Dense,
    y: &[f64],
) -> anyhow::Result<(Model, Vec<f64>)> {
    let (name, _) = family(config);
    let failed = failed(name);
    let targets = y.to_vec();
    let columns = data.shape().1;
    // |coefficient| on standardized inputs.
    let linear_importance = |coefficients: &Dense| -> Vec<f64> {
        let deviations = column_deviations(data);
        coefficients
            .iterator(0)
            .zip(deviations)
            .map(|(w, deviation)| w.abs() * deviation)
            .collect()
    };
    Ok(match config {
        SmartcoreConfig::LinearRegression { solver } => {
            let solver = match solver {
                None | Some(LinearSolver::Svd) => LinearRegressionSolverName::SVD,
                Some(LinearSolver::Qr) => LinearRegressionSolverName::QR,
            };
            let parameters = LinearRegressionParameters::default().with_solver(solver);
            let model = LinearRegression::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::Linear(model), importance)
        }
        SmartcoreConfig::Ridge { alpha } => {
            let parameters =
                RidgeRegressionParameters::default().with_alpha(alpha.unwrap_or(DEFAULT_ALPHA));
            let model = RidgeRegression::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::Ridge(model), importance)
        }
        SmartcoreConfig::Lasso { alpha, max_iter } => {
            let mut parameters =
                LassoParameters::default().with_alpha(alpha.unwrap_or(DEFAULT_ALPHA));
            // Without a limit, smartcore's own default applies.
            if let Some(max_iter) = max_iter {
                parameters = parameters.with_max_iter(*max_iter as usize);
            }
            let model = Lasso::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::Lasso(model), importance)
        }
        SmartcoreConfig::ElasticNet {
            alpha,
            l1_ratio,
            max_iter,
        } => {
            let mut parameters = ElasticNetParameters::default()
                .with_alpha(alpha.unwrap_or(DEFAULT_ALPHA))
                .with_l1_ratio(l1_ratio.unwrap_or(0.5));
            if let Some(max_iter) = max_iter {
                parameters = parameters.with_max_iter(*max_iter as usize);
            }
            let model = ElasticNet::fit(data, &targets, parameters).map_err(failed)?;
            let importance = linear_importance(model.coefficients());
            (Model::ElasticNet(model), importance)
        }
        SmartcoreConfig::DecisionTreeRegressor {
            max_depth,
            min_samples_split,
            min_samples_leaf,
            seed,
        } => {
            let settings =
                TreeSettings::new(*max_depth, *min_samples_split, *min_samples_leaf, *seed);
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
        SmartcoreConfig::RandomForestRegressor {
            n_estimators,
            max_depth,
            min_samples_split,
            min_samples_leaf,
            seed,
        } => {
            let settings =
                TreeSettings::new(*max_depth, *min_samples_split, *min_samples_leaf, *seed);
            let trees = n_estimators.unwrap_or(DEFAULT_TREES) as usize;
            anyhow::ensure!(trees > 0, "n_estimators must be at least 1");
            let mut parameters = RandomForestRegressorParameters::default()
                .with_n_trees(trees)
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
        SmartcoreConfig::KNeighborsRegressor { k, weights } => {
            let parameters = KNNRegressorParameters::default()
                .with_k(neighbours(*k, y.len()))
                .with_algorithm(KNNAlgorithmName::LinearSearch)
                .with_weight(knn_weights(*weights));
            let model = KNNRegressor::fit(data, &targets, parameters).map_err(failed)?;
            (Model::KnnRegressor(model), Vec::new())
        }
        // Listed one by one rather than with a wildcard, so that a new model must be placed.
        SmartcoreConfig::RandomForestClassifier { .. }
        | SmartcoreConfig::DecisionTreeClassifier { .. }
        | SmartcoreConfig::LogisticRegression { .. }
        | SmartcoreConfig::KNeighborsClassifier { .. }
        | SmartcoreConfig::GaussianNb {} => {
            unreachable!("check_model admits only regressors for regression, not {name}")
        }
    })
}

/// Every row's predicted value.
pub(super) fn predict(model: &Model, data: &Dense) -> anyhow::Result<Vec<f64>> {
    let failed = failed("prediction");
    Ok(match model {
        Model::Linear(model) => model.predict(data).map_err(failed)?,
        Model::Ridge(model) => model.predict(data).map_err(failed)?,
        Model::Lasso(model) => model.predict(data).map_err(failed)?,
        Model::ElasticNet(model) => model.predict(data).map_err(failed)?,
        Model::RegressionTree(model) => model.predict(data).map_err(failed)?,
        Model::RegressionForest(model) => model.predict(data).map_err(failed)?,
        Model::KnnRegressor(model) => model.predict(data).map_err(failed)?,
        Model::Logistic { .. } | Model::Trees(_) | Model::Knn { .. } | Model::GaussianNb { .. } => {
            anyhow::bail!("the smartcore model is a classifier, not a regressor")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;
    use crate::adapters::Task;
    use mbt_contract::frameworks::KnnWeights;

    #[test]
    fn random_forest_regressor() {
        let importance = check_regressor(
            &SmartcoreConfig::RandomForestRegressor {
                n_estimators: Some(30),
                max_depth: None,
                min_samples_split: None,
                min_samples_leaf: None,
                seed: Some(7),
            },
            0.8,
        );
        noise_is_least(&importance);
    }

    #[test]
    fn decision_tree_regressor() {
        let importance = check_regressor(
            &SmartcoreConfig::DecisionTreeRegressor {
                max_depth: Some(6),
                min_samples_split: None,
                min_samples_leaf: None,
                seed: Some(7),
            },
            0.8,
        );
        noise_is_least(&importance);
    }

    #[test]
    fn k_neighbors_regressor() {
        for weights in [KnnWeights::Uniform, KnnWeights::Distance] {
            check_regressor(
                &SmartcoreConfig::KNeighborsRegressor {
                    k: Some(4),
                    weights: Some(weights),
                },
                0.8,
            );
        }
    }

    #[test]
    fn linear_regression() {
        for solver in [LinearSolver::Qr, LinearSolver::Svd] {
            let importance = check_regressor(
                &SmartcoreConfig::LinearRegression {
                    solver: Some(solver),
                },
                0.99,
            );
            noise_is_least(&importance);
        }
    }

    #[test]
    fn ridge() {
        noise_is_least(&check_regressor(
            &SmartcoreConfig::Ridge { alpha: Some(0.5) },
            0.95,
        ));
    }

    #[test]
    fn lasso() {
        noise_is_least(&check_regressor(
            &SmartcoreConfig::Lasso {
                alpha: Some(0.05),
                max_iter: Some(500),
            },
            0.95,
        ));
    }

    #[test]
    fn elastic_net() {
        noise_is_least(&check_regressor(
            &SmartcoreConfig::ElasticNet {
                alpha: Some(0.05),
                l1_ratio: Some(0.7),
                max_iter: Some(500),
            },
            0.95,
        ));
    }

    #[test]
    fn unset_parameters_take_the_documented_defaults() {
        // SVD, alpha 1, l1_ratio 0.5, k 5 uniform, seed 42, 100 trees, leaves of 1, splits of 2:
        // the same model as when spelled out.
        let (x, y) = regression_data(60, 3);
        let spelled_out = [
            (
                SmartcoreConfig::LinearRegression { solver: None },
                SmartcoreConfig::LinearRegression {
                    solver: Some(LinearSolver::Svd),
                },
            ),
            (
                SmartcoreConfig::Ridge { alpha: None },
                SmartcoreConfig::Ridge { alpha: Some(1.0) },
            ),
            (
                SmartcoreConfig::Lasso {
                    alpha: None,
                    max_iter: None,
                },
                SmartcoreConfig::Lasso {
                    alpha: Some(1.0),
                    max_iter: None,
                },
            ),
            (
                SmartcoreConfig::ElasticNet {
                    alpha: None,
                    l1_ratio: None,
                    max_iter: None,
                },
                SmartcoreConfig::ElasticNet {
                    alpha: Some(1.0),
                    l1_ratio: Some(0.5),
                    max_iter: None,
                },
            ),
            (
                SmartcoreConfig::KNeighborsRegressor {
                    k: None,
                    weights: None,
                },
                SmartcoreConfig::KNeighborsRegressor {
                    k: Some(5),
                    weights: Some(KnnWeights::Uniform),
                },
            ),
            (
                SmartcoreConfig::DecisionTreeRegressor {
                    max_depth: None,
                    min_samples_split: None,
                    min_samples_leaf: None,
                    seed: None,
                },
                SmartcoreConfig::DecisionTreeRegressor {
                    max_depth: None,
                    min_samples_split: Some(2),
                    min_samples_leaf: Some(1),
                    seed: Some(42),
                },
            ),
            (
                SmartcoreConfig::RandomForestRegressor {
                    n_estimators: None,
                    max_depth: None,
                    min_samples_split: None,
                    min_samples_leaf: None,
                    seed: None,
                },
                SmartcoreConfig::RandomForestRegressor {
                    n_estimators: Some(100),
                    max_depth: None,
                    min_samples_split: Some(2),
                    min_samples_leaf: Some(1),
                    seed: Some(42),
                },
            ),
        ];
        for (defaults, explicit) in spelled_out {
            let (model, _) = family(&defaults);
            assert_eq!(
                fit(&defaults, &x, &y, Task::Regression).unwrap().payload,
                fit(&explicit, &x, &y, Task::Regression).unwrap().payload,
                "{model}"
            );
        }
    }

    #[test]
    fn a_forest_needs_a_tree() {
        let (x, y) = regression_data(30, 1);
        let config = SmartcoreConfig::RandomForestRegressor {
            n_estimators: Some(0),
            max_depth: None,
            min_samples_split: None,
            min_samples_leaf: None,
            seed: None,
        };
        let error = fit(&config, &x, &y, Task::Regression).unwrap_err();
        assert_eq!(error.to_string(), "n_estimators must be at least 1");
    }
}
