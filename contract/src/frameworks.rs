//! Training frameworks' configuration types: what `model_training.config` may hold for each
//! framework, and [`FrameworkConfig`], the typed config a manifest carries for the frameworks this
//! build runs.
//!
//! The compiler checks a pipeline's config against these types' JSON Schemas (with spans); the
//! runtime's framework adapters receive them typed. Which frameworks exist and which this build
//! runs is the adapter table ([`crate::adapters`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::pipeline::ProblemType;

/// The config of a framework this build runs, tagged by the framework's name:
/// `{"framework": "gbm", "config": {...}}`. A framework absent here is refused at compile time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "framework",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum FrameworkConfig {
    /// MBT's histogram gradient boosting.
    Gbm(GbmConfig),
    /// smartcore models by class name.
    Smartcore(SmartcoreConfig),
    /// scikit-learn estimators, run by a Python worker.
    Sklearn(SklearnConfig),
    /// H2O-3 AutoML over H2O's REST API.
    H2oAutoml(H2oAutomlConfig),
    /// MBT's own AutoML.
    Automl(AutomlConfig),
}

impl FrameworkConfig {
    /// The framework's name in the adapter table.
    pub fn name(&self) -> &'static str {
        match self {
            FrameworkConfig::Gbm(_) => "gbm",
            FrameworkConfig::Smartcore(_) => "smartcore",
            FrameworkConfig::Sklearn(_) => "sklearn",
            FrameworkConfig::H2oAutoml(_) => "h2o_automl",
            FrameworkConfig::Automl(_) => "automl",
        }
    }
}

/// `automl`: MBT's own AutoML over the runtime's engines. Its keys are H2O AutoML's, so that
/// `framework: h2o_automl` and `framework: automl` are a one-word switch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomlConfig {
    /// Wall-clock budget of the whole search, the final refit included, in seconds (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_runtime_secs: Option<u32>,
    /// Largest number of candidate models (the ensemble not counted). With it and no
    /// `max_runtime_secs`, the search has no time limit and repeats exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_models: Option<u32>,
    /// The leaderboard's metric; must fit the problem type (default: AUC, logloss, RMSE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_metric: Option<H2oSortMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Cross-validation folds ranking the candidates (default 5; 0: one 20% hold-out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 20))]
    pub nfolds: Option<u32>,
    /// Model families to try (H2O's names: GLM = regularized linear, GBM and XGBoost = gradient
    /// boosting, DRF = random forest, StackedEnsemble = the ensemble of the best).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_algos: Option<Vec<H2oAlgo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_algos: Option<Vec<H2oAlgo>>,
    /// Weight the classes equally (classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_classes: Option<bool>,
    /// Boosting stops after this many rounds without improvement (default per candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub stopping_rounds: Option<u32>,
}

/// `gbm`: gradient-boosted trees.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GbmConfig {
    /// Boosting rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub n_estimators: Option<u32>,
    /// Shrinkage per round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
    pub learning_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 64))]
    pub max_depth: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2))]
    pub max_leaves: Option<u32>,
    /// Minimum sum of hessians in a leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub min_leaf_weight: Option<f64>,
    /// Minimum rows in a leaf (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_samples_leaf: Option<u32>,
    /// Bins per feature for split finding (default 255).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 255))]
    pub max_bins: Option<u32>,
    /// L2 regularization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub l2: Option<f64>,
    /// Row subsampling per round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
    pub subsample: Option<f64>,
    /// Stop after this many rounds without improvement on the validation split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub early_stopping_rounds: Option<u32>,
    /// Share of the train set held out for early stopping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub validation_fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Grow a random forest (bagged trees) instead of boosting: each of the `n_estimators`
    /// trees fits the label on a `subsample` share of the rows (default 0.632) and the trees
    /// are averaged; `learning_rate` and early stopping do not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_forest: Option<bool>,
    /// Share of the features each split considers, drawn afresh per node (default 1.0: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
    pub colsample_bynode: Option<f64>,
    /// Extremely randomized trees: each feature offers one split at a random threshold between
    /// its smallest and largest value in the node, instead of its best one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_trees: Option<bool>,
}

/// `h2o_automl`: H2O-3 AutoML, with H2O's own parameter names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct H2oAutomlConfig {
    /// Wall-clock budget, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_runtime_secs: Option<u32>,
    /// Largest number of models (excluding stacked ensembles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_models: Option<u32>,
    /// Leaderboard metric; must fit the problem type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_metric: Option<H2oSortMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Cross-validation folds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 20))]
    pub nfolds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_algos: Option<Vec<H2oAlgo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_algos: Option<Vec<H2oAlgo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_classes: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum H2oSortMetric {
    #[serde(rename = "AUC")]
    Auc,
    #[serde(rename = "AUCPR")]
    Aucpr,
    #[serde(rename = "logloss")]
    Logloss,
    #[serde(rename = "mean_per_class_error")]
    MeanPerClassError,
    #[serde(rename = "RMSE")]
    Rmse,
    #[serde(rename = "MSE")]
    Mse,
    #[serde(rename = "MAE")]
    Mae,
    #[serde(rename = "RMSLE")]
    Rmsle,
    #[serde(rename = "deviance")]
    Deviance,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum H2oAlgo {
    #[serde(rename = "GLM")]
    Glm,
    #[serde(rename = "GBM")]
    Gbm,
    #[serde(rename = "DRF")]
    Drf,
    #[serde(rename = "XGBoost")]
    XgBoost,
    #[serde(rename = "DeepLearning")]
    DeepLearning,
    #[serde(rename = "StackedEnsemble")]
    StackedEnsemble,
}

/// H2O sort metrics valid for each problem type.
pub fn h2o_sort_metrics(problem_type: ProblemType) -> &'static [&'static str] {
    match problem_type {
        ProblemType::BinaryClassification => &[
            "AUC",
            "AUCPR",
            "logloss",
            "mean_per_class_error",
            "RMSE",
            "MSE",
        ],
        ProblemType::MulticlassClassification => {
            &["logloss", "mean_per_class_error", "RMSE", "MSE"]
        }
        ProblemType::Regression => &["deviance", "RMSE", "MSE", "MAE", "RMSLE"],
    }
}

/// `sklearn`: scikit-learn estimators by class name, with scikit-learn's own parameter names
/// beside `model`; what is not given is scikit-learn's default, except `random_state` (0, so runs
/// repeat). Run by a Python worker (Parquet in, predictions out); missing values are imputed with
/// the training median for the estimators that do not take them, and linear models see
/// standardized features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "model", deny_unknown_fields)]
pub enum SklearnConfig {
    RandomForestClassifier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        n_estimators: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min_samples_leaf: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        random_state: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_jobs: Option<i32>,
    },
    LogisticRegression {
        /// Inverse regularization strength.
        #[serde(rename = "C", default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("exclusiveMinimum" = 0.0))]
        c: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_iter: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        penalty: Option<SklearnPenalty>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        random_state: Option<u64>,
    },
    GradientBoostingClassifier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        n_estimators: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("exclusiveMinimum" = 0.0))]
        learning_rate: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
        subsample: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        random_state: Option<u64>,
    },
    HistGradientBoostingClassifier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_iter: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("exclusiveMinimum" = 0.0))]
        learning_rate: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 2))]
        max_leaf_nodes: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        l2_regularization: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        random_state: Option<u64>,
    },
    RandomForestRegressor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        n_estimators: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min_samples_leaf: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        random_state: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n_jobs: Option<i32>,
    },
    GradientBoostingRegressor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        n_estimators: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("exclusiveMinimum" = 0.0))]
        learning_rate: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
        subsample: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        random_state: Option<u64>,
    },
    HistGradientBoostingRegressor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_iter: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("exclusiveMinimum" = 0.0))]
        learning_rate: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 2))]
        max_leaf_nodes: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        l2_regularization: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        random_state: Option<u64>,
    },
    Ridge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        alpha: Option<f64>,
    },
    LinearRegression {},
}

impl SklearnConfig {
    /// The estimator's class name.
    pub fn model(&self) -> &'static str {
        match self {
            SklearnConfig::RandomForestClassifier { .. } => "RandomForestClassifier",
            SklearnConfig::LogisticRegression { .. } => "LogisticRegression",
            SklearnConfig::GradientBoostingClassifier { .. } => "GradientBoostingClassifier",
            SklearnConfig::HistGradientBoostingClassifier { .. } => {
                "HistGradientBoostingClassifier"
            }
            SklearnConfig::RandomForestRegressor { .. } => "RandomForestRegressor",
            SklearnConfig::GradientBoostingRegressor { .. } => "GradientBoostingRegressor",
            SklearnConfig::HistGradientBoostingRegressor { .. } => "HistGradientBoostingRegressor",
            SklearnConfig::Ridge { .. } => "Ridge",
            SklearnConfig::LinearRegression {} => "LinearRegression",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SklearnPenalty {
    L1,
    L2,
    Elasticnet,
}

/// The model of a framework chosen by class name when `config` names none, so that
/// `framework:` alone switches frameworks: a strong default per problem type.
pub fn default_model(framework: &str, problem_type: ProblemType) -> Option<&'static str> {
    let regression = problem_type == ProblemType::Regression;
    match framework {
        "sklearn" if regression => Some("HistGradientBoostingRegressor"),
        "sklearn" => Some("HistGradientBoostingClassifier"),
        "smartcore" if regression => Some("RandomForestRegressor"),
        "smartcore" => Some("RandomForestClassifier"),
        _ => None,
    }
}

/// The scikit-learn models for regression.
pub const SKLEARN_REGRESSORS: &[&str] = &[
    "RandomForestRegressor",
    "GradientBoostingRegressor",
    "HistGradientBoostingRegressor",
    "Ridge",
    "LinearRegression",
];

/// `smartcore`: models by class name, typed parameters beside `model`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "model", deny_unknown_fields)]
pub enum SmartcoreConfig {
    RandomForestClassifier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 10000))]
        n_estimators: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 64))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 2))]
        min_samples_split: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min_samples_leaf: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    RandomForestRegressor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 10000))]
        n_estimators: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 64))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 2))]
        min_samples_split: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min_samples_leaf: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    LogisticRegression {
        /// L2 regularization strength.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        alpha: Option<f64>,
    },
    DecisionTreeClassifier {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 64))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 2))]
        min_samples_split: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min_samples_leaf: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        criterion: Option<SplitCriterion>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    DecisionTreeRegressor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 64))]
        max_depth: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 2))]
        min_samples_split: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        min_samples_leaf: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    KNeighborsClassifier {
        /// Number of neighbours.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        k: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<KnnWeights>,
    },
    KNeighborsRegressor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        k: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<KnnWeights>,
    },
    #[serde(rename = "GaussianNB")]
    GaussianNb {},
    LinearRegression {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        solver: Option<LinearSolver>,
    },
    Ridge {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        alpha: Option<f64>,
    },
    Lasso {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        alpha: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_iter: Option<u32>,
    },
    ElasticNet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0))]
        alpha: Option<f64>,
        /// Mix of L1 (1.0) and L2 (0.0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0.0, max = 1.0))]
        l1_ratio: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1))]
        max_iter: Option<u32>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplitCriterion {
    Gini,
    Entropy,
    ClassificationError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KnnWeights {
    Uniform,
    Distance,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinearSolver {
    Qr,
    Svd,
}

/// The smartcore models for regression (the runtime's adapter uses this list too).
pub const SMARTCORE_REGRESSORS: &[&str] = &[
    "RandomForestRegressor",
    "DecisionTreeRegressor",
    "KNeighborsRegressor",
    "LinearRegression",
    "Ridge",
    "Lasso",
    "ElasticNet",
];
