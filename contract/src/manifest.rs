//! The manifest: the versioned contract between the compiler and the runtime.
//!
//! `target/<pipeline>/manifest.json` holds everything the runtime needs and nothing it must not
//! see: secrets appear only as `{{ secret('NAME') }}` references. Its JSON Schema is
//! `schemas/manifest.schema.json`, generated from these types. Identical inputs give
//! byte-identical manifests: maps are ordered and nothing time- or machine-dependent is written.
//!
//! Every step's configuration is typed ([`StepConfig`]): the compiler builds it, the runtime
//! matches on it, so a new step or key fails to compile on both sides until both handle it.
//!
//! Changelog of `manifest_version`:
//! - 1: first version.
//! - 2: typed step configs (`config.step` names the step; `plugin` removed), `train_model`'s
//!   `model: {framework, config}`, `metadata.problem_type` as the enum, typed target settings in
//!   `profile.settings` (was `profile.config`; every adapter `{type, config}`, defaults filled,
//!   the plan's `mlflow:`/`h2o:` normalized), step `adapters` keyed by adapter kind,
//!   `pipeline` as the typed merged pipeline, `load_model`'s `training_pipeline` and
//!   `experiment_name` (which runs `run_id: latest` picks from). Every config field is read by
//!   its step. Since added, optional and written only when used: `log_run`'s `registration`,
//!   `load_model`'s `registered_model` (with `run_id` then absent), `artifact_snapshot` and
//!   `snapshot`.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::adapters::Resources;
use crate::adapters::{AdapterKind, TargetSettings};
use crate::frameworks::FrameworkConfig;
use crate::pipeline::{
    Check, ClassLabel, CustomTransform, DataWindows, EncodingMethod, Identifiers, JoinType, Metric,
    OnFailure, OutputColumns, Pipeline, ProblemType, Registration, ScalerMethod, Schema, Window,
};

/// The manifest format version this build writes and reads.
pub const MANIFEST_VERSION: u32 = 2;

/// A compiled pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "MBT manifest")]
pub struct Manifest {
    /// Version of this format; the runtime refuses versions it does not know.
    pub manifest_version: u32,
    pub metadata: Metadata,
    /// The steps by name, in execution order.
    pub steps: IndexMap<String, Step>,
    pub dag: DagSection,
    /// The resolved profile and target.
    pub profile: ProfileSection,
    /// The merged, rendered pipeline (defaults applied).
    pub pipeline: Pipeline,
    /// Names of secrets referenced as `{{ secret('NAME') }}`; resolved by the runtime's provider.
    pub secrets: Vec<String>,
    /// Variables used: their compile-time value, or null when they must be given at run time
    /// (their references stay as `{{ var('NAME') }}`).
    pub vars: BTreeMap<String, Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub pipeline_name: String,
    pub pipeline_type: PipelineType,
    pub problem_type: ProblemType,
    /// The target (environment) compiled for.
    pub target: String,
    pub profile: String,
    pub schema_version: u32,
    pub mbt_version: String,
    /// Project-relative paths of every file that contributed, the pipeline first.
    pub source_files: Vec<String>,
    /// A hash of the sources and settings: the manifest is stale when it changes.
    pub source_hash: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PipelineType {
    Training,
    Serving,
}

/// One step: what runs, with which configuration, reading and writing which artifacts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What the step does; `config.step` is the step's name (its key in `steps`).
    pub config: StepConfig,
    /// The adapters the step uses, by kind.
    pub adapters: BTreeMap<AdapterKind, String>,
    /// Artifact names read (each written by a step in `depends_on`).
    pub inputs: Vec<String>,
    /// Artifact names written.
    pub outputs: Vec<String>,
    pub depends_on: Vec<String>,
    /// Safe to skip on retry when its outputs exist.
    pub idempotent: bool,
    /// Resources requested from the executor.
    pub resources: Resources,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagSection {
    /// A topological order of all steps.
    pub execution_order: Vec<String>,
    /// Groups of steps that may run in parallel, in order.
    pub execution_batches: Vec<Vec<String>>,
    pub parent_map: BTreeMap<String, Vec<String>>,
    pub child_map: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSection {
    pub name: String,
    pub target: String,
    /// The target's adapters, each `{type, config}` with defaults filled.
    pub settings: TargetSettings,
}

/// Every step MBT has, with its configuration. The variant is the step's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepConfig {
    LoadData(LoadData),
    JoinTables(JoinTables),
    ValidateData(ValidateData),
    Transform(Transform),
    SplitData(SplitData),
    Normalize(Normalize),
    Encode(Encode),
    SelectFeatures(SelectFeatures),
    TrainModel(TrainModel),
    Evaluate(Evaluate),
    LogRun(LogRun),
    LoadModel(LoadModel),
    LoadScoringData(LoadScoringData),
    ApplyTransforms(ApplyTransforms),
    Predict(Predict),
    Publish(Publish),
}

impl StepConfig {
    /// The step's name, e.g. `train_model`.
    pub fn name(&self) -> &'static str {
        match self {
            StepConfig::LoadData(_) => "load_data",
            StepConfig::JoinTables(_) => "join_tables",
            StepConfig::ValidateData(_) => "validate_data",
            StepConfig::Transform(_) => "transform",
            StepConfig::SplitData(_) => "split_data",
            StepConfig::Normalize(_) => "normalize",
            StepConfig::Encode(_) => "encode",
            StepConfig::SelectFeatures(_) => "select_features",
            StepConfig::TrainModel(_) => "train_model",
            StepConfig::Evaluate(_) => "evaluate",
            StepConfig::LogRun(_) => "log_run",
            StepConfig::LoadModel(_) => "load_model",
            StepConfig::LoadScoringData(_) => "load_scoring_data",
            StepConfig::ApplyTransforms(_) => "apply_transforms",
            StepConfig::Predict(_) => "predict",
            StepConfig::Publish(_) => "publish",
        }
    }
}

/// Every step name, training then serving.
pub const ALL_STEPS: &[&str] = &[
    "load_data",
    "join_tables",
    "validate_data",
    "transform",
    "split_data",
    "normalize",
    "encode",
    "select_features",
    "train_model",
    "evaluate",
    "log_run",
    "load_model",
    "load_scoring_data",
    "apply_transforms",
    "predict",
    "publish",
];

/// The columns that are never features: the label, the identifiers and ignored columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub label_column: Option<String>,
    pub primary_key: Option<String>,
    pub partition_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_columns: Vec<String>,
}

impl Roles {
    /// The roles a training schema gives its columns.
    pub fn of(schema: &Schema) -> Roles {
        let identifiers = schema.identifiers.as_ref();
        Roles {
            label_column: schema.target.as_ref().map(|t| t.label_column.clone()),
            primary_key: identifiers.and_then(|i| i.primary_key.clone()),
            partition_key: identifiers.and_then(|i| i.partition_key.clone()),
            ignored_columns: schema.ignored_columns.clone(),
        }
    }

    /// Every column that is not a feature.
    pub fn non_features(&self) -> Vec<String> {
        let mut columns: Vec<String> = [&self.label_column, &self.primary_key, &self.partition_key]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        columns.extend(self.ignored_columns.iter().cloned());
        columns
    }
}

/// Reads the label table (and the feature tables' names for the record).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadData {
    pub label_table: String,
    /// Every table the pipeline reads, the label table first.
    pub tables: Vec<String>,
    pub data_windows: Option<DataWindows>,
    pub partition_key: Option<String>,
}

/// Joins feature tables onto the label table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinTables {
    pub label_table: String,
    pub joins: Vec<Join>,
}

/// One feature table joined on its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    pub table: String,
    pub join_key: Vec<String>,
    pub join_type: JoinType,
    /// Fail when the join would multiply rows.
    pub fan_out_check: bool,
}

/// Runs the data quality checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateData {
    pub on_failure: OnFailure,
    pub checks: Vec<Check>,
}

/// Runs the custom transforms (SQL or Python) in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    pub custom_transforms: Vec<CustomTransform>,
    /// The training schema, handed to Python hooks as context.
    pub schema: Schema,
}

/// Splits rows into train and test sets (after the time windows, if any).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitData {
    pub test_size: f64,
    /// Stratified by the label (classification only).
    pub stratify: bool,
    pub seed: u64,
    pub roles: Roles,
    pub data_windows: Option<DataWindows>,
}

/// Scales numeric feature columns, fitted on the train set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    pub method: ScalerMethod,
    /// The columns to scale; every numeric feature when absent.
    pub columns: Option<Vec<String>>,
    pub roles: Roles,
}

/// Encodes text feature columns, fitted on the train set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encode {
    pub method: EncodingMethod,
    /// The columns to encode; every text feature when absent.
    pub columns: Option<Vec<String>>,
    pub roles: Roles,
}

/// Selects features, fitted on the train set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectFeatures {
    pub methods: Vec<Selection>,
    pub problem_type: ProblemType,
    /// The binary label's positive class (`1` when not set).
    pub positive_class: Option<ClassLabel>,
    pub roles: Roles,
}

/// A feature selection method as the runtime runs it (`lgbm_importance` is `gbm_importance`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Selection {
    /// Keep the most important features until their cumulative importance reaches `threshold`.
    GbmImportance { threshold: f64 },
    /// Drop one of each pair of features correlated above `threshold`.
    Correlation { threshold: f64 },
}

/// Trains the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainModel {
    /// The framework and its typed config.
    pub model: FrameworkConfig,
    pub problem_type: ProblemType,
    pub label_column: String,
    pub classes: Option<Vec<ClassLabel>>,
    pub positive_class: Option<ClassLabel>,
    pub identifiers: Option<Identifiers>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_columns: Vec<String>,
}

impl TrainModel {
    pub fn roles(&self) -> Roles {
        let identifiers = self.identifiers.as_ref();
        Roles {
            label_column: Some(self.label_column.clone()),
            primary_key: identifiers.and_then(|i| i.primary_key.clone()),
            partition_key: identifiers.and_then(|i| i.partition_key.clone()),
            ignored_columns: self.ignored_columns.clone(),
        }
    }
}

/// Scores the test set and computes metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evaluate {
    pub primary_metric: Metric,
    /// Every metric computed, the primary one first.
    pub metrics: Vec<Metric>,
    pub generate_plots: bool,
    /// `lib.module.function(y_true, y_score) -> float`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_metrics: Vec<String>,
}

/// Records the run (params, metrics, artifacts) in the model registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogRun {
    pub experiment_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub owner: Option<String>,
    /// The joins serving replays (recorded with the run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<Join>,
    /// The custom transforms serving replays (recorded with the run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_transforms: Vec<CustomTransform>,
    /// Recorded as run params.
    pub params: RunParams,
    /// Register the run's model under a name and move an alias to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
}

/// What a run records as its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    pub model: FrameworkConfig,
    pub schema: Schema,
    pub test_size: f64,
    pub stratify: bool,
    pub seed: u64,
}

/// Loads a training run's model and fitted transforms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadModel {
    /// The model registry's name (the target's settings apply when its registry is the same).
    pub registry: String,
    /// A run id, or `latest`; may hold `{{ var('NAME') }}` until `--vars` gives it. Absent
    /// when `registered_model` names the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The registered model's alias whose run is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_model: Option<ModelAlias>,
    /// Serve from a copy of the run's artifacts taken when the pipeline is compiled for a run
    /// (`mbt compile`/`mbt run`), not from the registry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub artifact_snapshot: bool,
    /// The copy: filled by the host after compiling, absent in the compiler's own output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<ArtifactSnapshot>,
    pub fallback_run_id: Option<String>,
    /// For `latest`: the training pipeline whose runs count.
    pub training_pipeline: Option<String>,
    /// For `latest` without a training pipeline: the experiment whose runs count.
    pub experiment_name: Option<String>,
}

/// The artifacts of one run copied into the project, each with its SHA-256: serving reads them
/// instead of the registry and refuses any that changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactSnapshot {
    /// The run the artifacts are of.
    pub run_id: String,
    /// Where they are, relative to the project (`target/<pipeline>/artifacts`).
    pub folder: String,
    /// File name → SHA-256 (hex); `run.json` is the run's record.
    pub files: BTreeMap<String, String>,
}

/// A registered model's alias (`churn@champion`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelAlias {
    pub name: String,
    pub alias: String,
}

/// The `run_id` that means "the most recent training run in the registry".
pub const LATEST_RUN: &str = "latest";

/// Reads the table to score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadScoringData {
    pub scoring_table: String,
    pub lookback_window: Option<Window>,
}

/// Replays the training run's joins, custom transforms, scaler, encoder and selector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyTransforms {}

/// Scores the prepared rows with the loaded model (which knows its problem type; the
/// threshold is `publish`'s).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Predict {}

/// Writes the predictions through the output writer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// The output writer's name.
    pub destination: String,
    pub table: String,
    pub columns: OutputColumns,
}

impl Manifest {
    /// Serializes exactly as written to disk (pretty, trailing newline).
    pub fn to_json_string(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("manifests serialize");
        text.push('\n');
        text
    }

    /// The training pipeline's schema section (none for serving pipelines).
    pub fn training_schema(&self) -> Option<&Schema> {
        self.pipeline.training.as_ref().map(|t| &t.schema)
    }
}

/// Why a manifest cannot be used.
#[derive(Debug)]
pub enum ManifestError {
    /// Not JSON, or not this version's shape.
    Invalid(serde_json::Error),
    /// Written by a newer or older MBT.
    Version { found: u64, supported: u32 },
    /// A step keyed under another step's name.
    Inconsistent(String),
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestError::Invalid(error) => write!(f, "the manifest is not valid: {error}"),
            ManifestError::Version { found, supported } => write!(
                f,
                "manifest version {found} is not supported (this MBT reads version {supported})"
            ),
            ManifestError::Inconsistent(what) => write!(f, "the manifest is not valid: {what}"),
        }
    }
}

impl std::error::Error for ManifestError {}

/// Parses a manifest, refusing versions this build does not read.
pub fn parse_manifest(text: &str) -> Result<Manifest, ManifestError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ManifestError::Invalid)?;
    let found = value
        .get("manifest_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(MANIFEST_VERSION) {
        return Err(ManifestError::Version {
            found,
            supported: MANIFEST_VERSION,
        });
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(ManifestError::Invalid)?;
    for (name, step) in &manifest.steps {
        if step.config.name() != name {
            return Err(ManifestError::Inconsistent(format!(
                "step `{name}` holds the config of `{}`",
                step.config.name()
            )));
        }
    }
    Ok(manifest)
}

/// Parses a memory quantity (`512Mi`, `64Gi`, `2G`, `1000`) into bytes.
pub fn parse_quantity(text: &str) -> Option<u128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let multiplier: f64 = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    (value >= 0.0).then_some((value * multiplier) as u128)
}

/// A stable 64-bit FNV-1a hash, printed as hex (no dependency, same on every machine).
pub fn stable_hash(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("64Gi"), Some(64 * 1024 * 1024 * 1024));
        assert_eq!(parse_quantity("2G"), Some(2_000_000_000));
        assert_eq!(parse_quantity("1000"), Some(1000));
        assert_eq!(parse_quantity("64 gigs"), None);
        assert!(parse_quantity("512Mi") < parse_quantity("1Gi"));
    }

    #[test]
    fn every_step_name_is_a_variant() {
        for name in ALL_STEPS {
            let config: serde_json::Value = serde_json::json!({"step": name});
            // Unknown-variant errors name the variant; any other error is a missing field.
            let error = serde_json::from_value::<StepConfig>(config)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!error.contains("unknown variant"), "{name}: {error}");
        }
    }

    #[test]
    fn refuses_unknown_versions() {
        let error = parse_manifest(r#"{"manifest_version": 99}"#).unwrap_err();
        assert!(matches!(error, ManifestError::Version { found: 99, .. }));
        assert!(matches!(
            parse_manifest("{"),
            Err(ManifestError::Invalid(_))
        ));
    }
}
