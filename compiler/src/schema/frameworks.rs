//! Training frameworks known at compile time: their names, config schemas and config rules.
//!
//! This is the compile-side half of the framework adapters (the seed's `validate_config`); the
//! runtime registers the matching executors under the same names. Adding a framework means one
//! entry in [`FRAMEWORKS`] and its config type here, and touches no step code.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pipeline::ProblemType;
use super::schema_of;
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::yaml::Node;

/// A training framework as the compiler sees it.
pub struct FrameworkSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// The JSON Schema of `model_training.config`.
    pub schema: fn() -> &'static Value,
    /// Rules beyond the schema that depend on the problem type.
    pub rules: fn(config: &Node, problem_type: ProblemType, out: &mut Vec<Diagnostic>),
}

/// Every framework, by name. Keep sorted by name.
pub static FRAMEWORKS: &[FrameworkSpec] = &[
    FrameworkSpec {
        name: "automl",
        description: "Built-in AutoML: tries gradient boosting and smartcore models, keeps the best by the primary metric.",
        schema: || cached::<AutomlConfig>(&AUTOML),
        rules: |_, _, _| {},
    },
    FrameworkSpec {
        name: "gbm",
        description: "Pure-Rust gradient boosting (multi-threaded) with early stopping.",
        schema: || cached::<GbmConfig>(&GBM),
        rules: |_, _, _| {},
    },
    FrameworkSpec {
        name: "h2o_automl",
        description: "H2O-3 AutoML on an H2O cluster.",
        schema: || cached::<H2oAutomlConfig>(&H2O),
        rules: h2o_rules,
    },
    FrameworkSpec {
        name: "sklearn",
        description: "scikit-learn estimators, run in Python.",
        schema: || cached::<SklearnConfig>(&SKLEARN),
        rules: |config, problem_type, out| model_rules(config, problem_type, SKLEARN_REGRESSORS, "sklearn", out),
    },
    FrameworkSpec {
        name: "smartcore",
        description: "smartcore models in Rust, selected by class name.",
        schema: || cached::<SmartcoreConfig>(&SMARTCORE),
        rules: |config, problem_type, out| model_rules(config, problem_type, SMARTCORE_REGRESSORS, "smartcore", out),
    },
];

static AUTOML: OnceLock<Value> = OnceLock::new();
static GBM: OnceLock<Value> = OnceLock::new();
static H2O: OnceLock<Value> = OnceLock::new();
static SKLEARN: OnceLock<Value> = OnceLock::new();
static SMARTCORE: OnceLock<Value> = OnceLock::new();

fn cached<T: JsonSchema>(cell: &'static OnceLock<Value>) -> &'static Value {
    cell.get_or_init(schema_of::<T>)
}

pub fn framework(name: &str) -> Option<&'static FrameworkSpec> {
    FRAMEWORKS.iter().find(|spec| spec.name == name)
}

pub fn framework_names() -> Vec<&'static str> {
    FRAMEWORKS.iter().map(|spec| spec.name).collect()
}

/// `automl`: the built-in AutoML. Strong defaults; every option is optional.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomlConfig {
    /// Wall-clock budget for the search, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_runtime_secs: Option<u32>,
    /// Largest number of candidate models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_models: Option<u32>,
    /// Model families to try.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<AutomlFamily>>,
    /// Cross-validation folds used to rank candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 20))]
    pub nfolds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutomlFamily {
    Gbm,
    RandomForest,
    Linear,
    Knn,
    NaiveBayes,
}

/// `gbm`: gradient-boosted trees.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
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
}

/// `h2o_automl`: H2O-3 AutoML.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
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

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
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

fn h2o_rules(config: &Node, problem_type: ProblemType, out: &mut Vec<Diagnostic>) {
    let Some(metric) = config.get_path(&["sort_metric"]) else {
        return;
    };
    let Some(name) = metric.as_str() else { return };
    let valid = h2o_sort_metrics(problem_type);
    let all = [
        "AUC",
        "AUCPR",
        "logloss",
        "mean_per_class_error",
        "RMSE",
        "MSE",
        "MAE",
        "RMSLE",
        "deviance",
    ];
    if all.contains(&name) && !valid.contains(&name) {
        out.push(
            Diagnostic::at(
                Code::FrameworkOptionNotForProblemType,
                metric.span,
                format!(
                    "sort_metric `{name}` is not valid for {}",
                    problem_type.as_str()
                ),
            )
            .with_label(format!("not a {} metric", problem_type.as_str()))
            .with_help(format!("use one of: {}", valid.join(", "))),
        );
    }
}

/// `sklearn`: scikit-learn estimators, flat parameters beside `model`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
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
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SklearnPenalty {
    L1,
    L2,
    Elasticnet,
}

const SKLEARN_REGRESSORS: &[&str] = &[];

/// `smartcore`: models by class name, typed parameters beside `model`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
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

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplitCriterion {
    Gini,
    Entropy,
    ClassificationError,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KnnWeights {
    Uniform,
    Distance,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
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

/// A classifier for a regression problem, or the reverse, is a compile error.
fn model_rules(
    config: &Node,
    problem_type: ProblemType,
    regressors: &[&str],
    framework: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(model) = config.get_path(&["model"]) else {
        return;
    };
    let Some(name) = model.as_str() else { return };
    let schema = framework_schema_models(framework);
    if !schema.contains(&name) {
        return; // the schema check reports unknown models
    }
    let is_regressor = regressors.contains(&name);
    if is_regressor == problem_type.is_classification() {
        let fitting: Vec<&str> = schema
            .iter()
            .copied()
            .filter(|candidate| regressors.contains(candidate) != problem_type.is_classification())
            .collect();
        let kind = if is_regressor {
            "a regressor"
        } else {
            "a classifier"
        };
        out.push(
            Diagnostic::at(
                Code::ModelNotSupported,
                model.span,
                format!(
                    "{framework} model `{name}` is {kind}, but the problem type is {}",
                    problem_type.as_str()
                ),
            )
            .with_label(kind)
            .with_help(if fitting.is_empty() {
                format!(
                    "{framework} has no model for {}; choose another framework",
                    problem_type.as_str()
                )
            } else {
                did_you_mean(name, &fitting).replace("expected one of", "use one of")
            }),
        );
    }
}

/// The model class names a framework's schema accepts.
pub fn framework_schema_models(framework: &str) -> Vec<&'static str> {
    let Some(spec) = self::framework(framework) else {
        return Vec::new();
    };
    let schema = (spec.schema)();
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|branches| {
            branches
                .iter()
                .filter_map(|branch| {
                    branch
                        .get("properties")?
                        .get("model")?
                        .get("const")?
                        .as_str()
                })
                .collect()
        })
        .unwrap_or_default()
}
