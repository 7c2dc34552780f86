//! The pipeline file format as Rust types: the single source of the JSON Schema, the validator's
//! rules (through that schema) and the typed view the DAG and manifest are built from.
//!
//! Doc comments here become the schema's descriptions and the LSP's hover texts.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An MBT pipeline: a training or a serving pipeline, possibly derived from a base pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "MBT pipeline")]
pub struct Pipeline {
    /// Version of the pipeline format. This MBT understands version 1.
    pub schema_version: u32,
    /// Name of a pipeline (file stem under `pipelines/`) whose sections this one inherits.
    /// Mappings merge deeply, this file's values win, and lists replace the inherited list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_pipeline: Option<String>,
    /// Variables given when the pipeline runs (`mbt run --vars NAME=VALUE`), such as the
    /// training run a serving pipeline loads: `mbt check` does not warn that they are unset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_vars: Vec<String>,
    /// Who owns the pipeline and what problem it solves.
    pub project: Project,
    /// How the pipeline is deployed and scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
    /// The training pipeline: data, validation, transformations, model and evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<Training>,
    /// The batch serving pipeline: which model to load, what to score and where to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<Serving>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The pipeline's name; must equal the file name without `.yaml`. Defaults to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The experiment that runs are grouped under in the model registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_name: Option<String>,
    /// The owning team or person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What is predicted: decides valid metrics, models and framework options.
    pub problem_type: ProblemType,
    /// Free-form tags recorded with every run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A sentence about the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemType {
    BinaryClassification,
    MulticlassClassification,
    Regression,
}

impl ProblemType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemType::BinaryClassification => "binary_classification",
            ProblemType::MulticlassClassification => "multiclass_classification",
            ProblemType::Regression => "regression",
        }
    }

    pub fn parse(text: &str) -> Option<ProblemType> {
        match text {
            "binary_classification" => Some(ProblemType::BinaryClassification),
            "multiclass_classification" => Some(ProblemType::MulticlassClassification),
            "regression" => Some(ProblemType::Regression),
            _ => None,
        }
    }

    pub fn is_classification(self) -> bool {
        self != ProblemType::Regression
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// `batch`: scheduled runs over tables.
    #[serde(default = "default_mode")]
    #[schemars(default = "default_mode")]
    pub mode: DeploymentMode,
    /// How often the orchestrator runs the pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cadence: Option<Cadence>,
    /// A cron expression, when `cadence` is not enough (e.g. `0 6 * * 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

fn default_mode() -> DeploymentMode {
    DeploymentMode::Batch
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentMode {
    Batch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Hourly,
    Daily,
    Weekly,
    Monthly,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Where the training rows come from.
    pub data_source: DataSource,
    /// The label, identifiers and columns to ignore.
    pub schema: Schema,
    /// Data quality checks run before splitting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    /// How rows are split into train and test sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// Feature transformations, fitted on the train set only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformations: Option<Transformations>,
    /// Feature selection, fitted on the train set only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_selection: Option<FeatureSelection>,
    /// The framework that trains the model and its configuration.
    pub model_training: ModelTraining,
    /// Metrics computed on the test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Evaluation>,
    /// Registers each run's model under a name in the model registry (a new version per run)
    /// and moves an alias to it, which serving can load by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// A registered model: a name whose versions are runs' models, and an alias naming one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The registered model (letters, digits, `_`, `-` and `.`), e.g. `churn`.
    pub registered_model_name: String,
    /// Moved to the new version after each run, e.g. `champion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    /// The table holding the label column (a file stem in the target's data path).
    pub label_table: String,
    /// Tables to join onto the label table. The label table itself may be listed first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_tables: Vec<FeatureTable>,
    /// Time windows over the partition key, relative to `--vars execution_date=YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_windows: Option<DataWindows>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureTable {
    /// Table name.
    pub table: String,
    /// Column(s) joining this table to the label table; required for every table but the label table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_key: Option<JoinKey>,
    /// How rows are joined.
    #[serde(default = "default_join_type")]
    #[schemars(default = "default_join_type")]
    pub join_type: JoinType,
    /// Fail when the join multiplies rows (a key that is not unique in this table).
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub fan_out_check: bool,
}

/// One join column, or several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum JoinKey {
    One(String),
    Many(Vec<String>),
}

impl JoinKey {
    pub fn columns(&self) -> Vec<String> {
        match self {
            JoinKey::One(column) => vec![column.clone()],
            JoinKey::Many(columns) => columns.clone(),
        }
    }
}

fn default_join_type() -> JoinType {
    JoinType::Left
}

fn default_true() -> bool {
    true
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinType {
    Inner,
    Left,
    Right,
    Outer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataWindows {
    /// The window whose labels are learned, e.g. `{offset: -1, unit: month}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_window: Option<Window>,
    /// The feature history before the label window, e.g. `{duration: 12, unit: month}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_window: Option<Window>,
    /// How far back to read, e.g. `{offset: -1, unit: day}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_window: Option<Window>,
}

/// A time window: an `offset` from the execution date and/or a `duration`, in `unit`s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start relative to the execution date, in units (negative is earlier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// Length in units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub duration: Option<u32>,
    pub unit: TimeUnit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Year,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The label to predict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Key columns: never used as features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifiers: Option<Identifiers>,
    /// Columns dropped before training.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The label column.
    pub label_column: String,
    /// The label's classes (classification only), e.g. `[0, 1]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<ClassLabel>>,
    /// The class whose probability is predicted (binary classification); one of `classes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_class: Option<ClassLabel>,
}

/// A class label: an integer, a string or a boolean.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ClassLabel {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl ClassLabel {
    /// The label as the data's text form (`1`, `true`, `high`), which is how labels are compared.
    pub fn text(&self) -> String {
        match self {
            ClassLabel::Bool(value) => value.to_string(),
            ClassLabel::Int(value) => value.to_string(),
            ClassLabel::Text(value) => value.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identifiers {
    /// One row per value: kept in predictions, checked for uniqueness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    /// The date column that data windows filter on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    /// What a failed check does: stop the run, log and continue, or drop the failing rows.
    #[serde(default = "default_on_failure")]
    #[schemars(default = "default_on_failure")]
    pub on_failure: OnFailure,
    /// The checks, run in order.
    #[serde(default)]
    pub checks: Vec<Check>,
}

fn default_on_failure() -> OnFailure {
    OnFailure::Fail
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    Fail,
    Warn,
    SkipRow,
}

/// A data quality check, chosen by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// Fails when a column has more than `max_null_pct` percent nulls.
    NullThreshold {
        columns: Vec<String>,
        /// Largest allowed share of nulls, in percent (0-100).
        #[schemars(range(min = 0.0, max = 100.0))]
        max_null_pct: f64,
    },
    /// Fails when a value lies outside `[min, max]`.
    ValueRange {
        column: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// Fails when one of the columns is missing.
    ExpectedColumns { columns: Vec<String> },
    /// Fails when the columns together do not identify rows uniquely.
    UniqueKey { columns: Vec<String> },
    /// Fails when a column's type differs from the expected one.
    TypeCheck {
        columns: IndexMap<String, ColumnType>,
    },
    /// Calls `lib.module.function(df, context)`, which returns `(ok, message)`.
    Custom { function: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Integer,
    Float,
    String,
    Boolean,
    Date,
    Datetime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// Share of rows held out for evaluation, strictly between 0 and 1.
    #[serde(default = "default_test_size")]
    #[schemars(default = "default_test_size", extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub test_size: f64,
    /// Keep the label's class balance in both sets (classification only).
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub stratify: bool,
    /// Random seed of the split.
    #[serde(default = "default_seed")]
    #[schemars(default = "default_seed")]
    pub seed: u64,
}

pub fn default_test_size() -> f64 {
    0.2
}

pub fn default_seed() -> u64 {
    42
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transformations {
    /// Scaling of numeric columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<Normalization>,
    /// Encoding of categorical columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
    /// Row-wise feature functions run before splitting: `lib.module.function` or `{sql: ...}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_transforms: Vec<CustomTransform>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_scaler")]
    #[schemars(default = "default_scaler")]
    pub method: ScalerMethod,
    /// Columns to scale; all numeric feature columns when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

fn default_scaler() -> ScalerMethod {
    ScalerMethod::StandardScaler
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScalerMethod {
    StandardScaler,
    MinMaxScaler,
    RobustScaler,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encoding {
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_encoding")]
    #[schemars(default = "default_encoding")]
    pub method: EncodingMethod,
    /// Columns to encode; all string feature columns when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

fn default_encoding() -> EncodingMethod {
    EncodingMethod::OneHot
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncodingMethod {
    OneHot,
    Ordinal,
}

/// A custom transform: a Python function reference or a SQL statement over the frame `data`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CustomTransform {
    /// `lib.module.function(df, context) -> df`.
    Function(String),
    /// `SELECT ... FROM data`, run by the runtime's SQL engine.
    Sql(SqlTransform),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlTransform {
    /// A SELECT over the table `data`.
    pub sql: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureSelection {
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub enabled: bool,
    /// Selection methods, applied in order.
    #[serde(default)]
    pub methods: Vec<SelectionMethod>,
}

/// A feature selection method, chosen by `name`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum SelectionMethod {
    /// Keeps the most important features (by a quick gradient-boosting fit) until their
    /// cumulative importance reaches `threshold`.
    GbmImportance {
        #[serde(default = "default_importance")]
        #[schemars(default = "default_importance", extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
        threshold: f64,
    },
    /// Alias of `gbm_importance`.
    LgbmImportance {
        #[serde(default = "default_importance")]
        #[schemars(default = "default_importance", extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
        threshold: f64,
    },
    /// Drops one of each pair of features whose absolute correlation exceeds `threshold`.
    Correlation {
        #[serde(default = "default_correlation")]
        #[schemars(default = "default_correlation", extend("exclusiveMinimum" = 0.0), range(max = 1.0))]
        threshold: f64,
    },
}

fn default_importance() -> f64 {
    0.95
}

fn default_correlation() -> f64 {
    0.95
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelTraining {
    /// The training framework: `automl`, `gbm`, `smartcore`, `sklearn` or `h2o_automl` (`mbt
    /// deps list` shows what this build runs).
    pub framework: String,
    /// Framework-specific options, validated by the framework.
    #[serde(default = "empty_object")]
    #[schemars(default = "empty_object")]
    pub config: serde_json::Map<String, serde_json::Value>,
}

fn empty_object() -> serde_json::Map<String, serde_json::Value> {
    serde_json::Map::new()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    /// The metric that ranks models and is reported first.
    pub primary_metric: Metric,
    /// More metrics to compute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_metrics: Vec<Metric>,
    /// Write ROC/PR curves, a confusion matrix and feature importance as PNG artifacts.
    #[serde(default)]
    pub generate_plots: bool,
    /// Extra metric functions `lib.module.function(y_true, y_score) -> float`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_metrics: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    RocAuc,
    PrAuc,
    Accuracy,
    Precision,
    Recall,
    F1,
    LogLoss,
    MacroF1,
    Rmse,
    Mae,
    R2,
    Mape,
}

impl Metric {
    pub const ALL: &'static [Metric] = &[
        Metric::RocAuc,
        Metric::PrAuc,
        Metric::Accuracy,
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
        Metric::LogLoss,
        Metric::MacroF1,
        Metric::Rmse,
        Metric::Mae,
        Metric::R2,
        Metric::Mape,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::RocAuc => "roc_auc",
            Metric::PrAuc => "pr_auc",
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::LogLoss => "log_loss",
            Metric::MacroF1 => "macro_f1",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Mape => "mape",
        }
    }

    /// The metrics that make sense for a problem type.
    pub fn valid_for(problem_type: ProblemType) -> &'static [Metric] {
        match problem_type {
            ProblemType::BinaryClassification => &[
                Metric::RocAuc,
                Metric::PrAuc,
                Metric::Accuracy,
                Metric::Precision,
                Metric::Recall,
                Metric::F1,
                Metric::LogLoss,
            ],
            ProblemType::MulticlassClassification => {
                &[Metric::Accuracy, Metric::MacroF1, Metric::LogLoss]
            }
            ProblemType::Regression => &[Metric::Rmse, Metric::Mae, Metric::R2, Metric::Mape],
        }
    }

    /// The primary metric used when a pipeline has no `evaluation` section.
    pub fn default_for(problem_type: ProblemType) -> Metric {
        match problem_type {
            ProblemType::BinaryClassification => Metric::RocAuc,
            ProblemType::MulticlassClassification => Metric::Accuracy,
            ProblemType::Regression => Metric::Rmse,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Serving {
    /// The trained model to load.
    pub model_source: ModelSource,
    /// The rows to score.
    pub data_source: ScoringDataSource,
    /// Where predictions are written.
    pub output: Output,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelSource {
    /// The model registry holding the training run (`local`, `mlflow` or `s3`; `mbt deps list` shows the
    /// registries this build runs). The target's `model_registry` settings apply when it names
    /// the same registry.
    #[serde(default = "default_registry")]
    #[schemars(default = "default_registry")]
    pub registry: String,
    /// The training run whose model and fitted transforms are loaded; `latest` is the most
    /// recent run in the registry of `training_pipeline` if set, else of the project's
    /// `experiment_name` if set, else of any pipeline. Or, instead, `model_name` and `alias`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// A registered model (a training pipeline's `registration`), loaded by `alias`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// The alias of `model_name` whose version is loaded, e.g. `champion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The training pipeline whose runs `run_id: latest` chooses from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_pipeline: Option<String>,
    /// Copy the run's artifacts into `target/<pipeline>/artifacts/` when the pipeline is
    /// compiled (`mbt compile`, `mbt run`), with their hashes in the manifest; serving then reads
    /// the copy (the registry may be down) and refuses an artifact that changed.
    #[serde(default)]
    pub artifact_snapshot: bool,
    /// Used when `run_id` cannot be loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_run_id: Option<String>,
}

fn default_registry() -> String {
    "local".to_string()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringDataSource {
    /// The table to score.
    pub scoring_table: String,
    /// Only `lookback_window` applies to scoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_windows: Option<ScoringWindows>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringWindows {
    /// Rows whose partition key lies in this window are scored; all rows when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_window: Option<Window>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// The output writer: `local_file`, `postgres` or `s3` (the target configures it; `mbt deps
    /// list` shows what this build runs).
    #[serde(default = "default_destination")]
    #[schemars(default = "default_destination")]
    pub destination: String,
    /// The table or file written: `predictions.csv` (`local_file`, `s3`), `churn_predictions`
    /// or `schema.table` (`postgres`).
    pub table: String,
    /// Names of the output columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<OutputColumns>,
}

fn default_destination() -> String {
    "local_file".to_string()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputColumns {
    /// Column holding the positive-class probability (or the regression prediction).
    #[serde(default = "default_prediction")]
    #[schemars(default = "default_prediction")]
    pub prediction: String,
    /// Column holding the thresholded label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Probability at or above which the positive class is predicted.
    #[serde(default = "default_threshold")]
    #[schemars(default = "default_threshold", range(min = 0.0, max = 1.0))]
    pub threshold: f64,
}

fn default_prediction() -> String {
    "prediction".to_string()
}

fn default_threshold() -> f64 {
    0.5
}
