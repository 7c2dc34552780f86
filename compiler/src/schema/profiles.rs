//! `profiles.yaml` as written: where and how pipelines run, owned by data engineers. These
//! types give the file's JSON Schema (editors, `mbt schema profiles`) and its structural check;
//! each adapter's `config` is then checked against the adapter table's schema for its `type`,
//! and the result is typed as [`mbt_contract::adapters::TargetSettings`].
//!
//! ```yaml
//! telecom-churn:          # a profile, usually named after the project
//!   target: dev           # the default target
//!   mlflow: {...}         # profile-level settings, overridden per target
//!   outputs:
//!     dev: {executor: ..., storage: ..., data_connector: ..., mlflow: ...}
//! ```

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The whole file: profiles by name.
pub type ProfilesFile = IndexMap<String, Profile>;

/// One profile: a default target, shared settings and the targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The target used when neither `--target` nor `$MBT_TARGET` is given.
    pub target: String,
    /// The targets (environments) by name, e.g. dev, staging, prod.
    pub outputs: IndexMap<String, TargetSettings>,
    /// Default executor for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<AdapterSettings>,
    /// Default artifact storage for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<AdapterSettings>,
    /// Default data connector for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_connector: Option<AdapterSettings>,
    /// Default model registry for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_registry: Option<AdapterSettings>,
    /// Default output writer for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_writer: Option<AdapterSettings>,
    /// Default secrets provider for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretsSettings>,
    /// Default `mlflow:` section for every target (see [`TargetSettings::mlflow`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<serde_json::Map<String, serde_json::Value>>,
    /// Default `h2o:` section for every target (see [`TargetSettings::h2o`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h2o: Option<serde_json::Map<String, serde_json::Value>>,
    /// Default metrics emitter for every target (see [`TargetSettings::metrics`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<AdapterSettings>,
    /// Default `vars:` for every target (see [`TargetSettings::vars`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vars: Option<IndexMap<String, VarValue>>,
}

/// Settings of one target; the profile level holds defaults for every target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    /// Where steps run (`local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<AdapterSettings>,
    /// Where artifacts are stored (`local`: `base_path`, default `local_artifacts`; `s3`: a
    /// bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<AdapterSettings>,
    /// Where tables are read from (`local_file`: `data_path`, default `sample_data`;
    /// `postgres`: a database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_connector: Option<AdapterSettings>,
    /// The model registry (`local`: `base_path`, default `local_registry`; `mlflow`: a tracking
    /// server; `s3`: a bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_registry: Option<AdapterSettings>,
    /// Where serving pipelines write predictions (`local_file`: `output_path`, default
    /// `predictions`; `postgres`: a database table; `s3`: a bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_writer: Option<AdapterSettings>,
    /// Secrets provider (`env` reads environment variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretsSettings>,
    /// The plan's MLflow section (`tracking_uri`, ...): the `mlflow` model registry's config.
    /// Without `model_registry`, it makes MLflow the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<serde_json::Map<String, serde_json::Value>>,
    /// The plan's H2O section (`url`, or a local node's `nthreads`, `max_mem`, `jar`): the
    /// cluster of the `h2o_automl` framework.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h2o: Option<serde_json::Map<String, serde_json::Value>>,
    /// Where each step's and run's metrics are sent (`statsd`: `host`, `port`, `prefix`;
    /// `pushgateway`: `url`, `job`); absent: nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<AdapterSettings>,
    /// Values of `{{ var('NAME') }}` in every pipeline compiled for this target (`--vars`
    /// overrides them), e.g. where serving publishes: `{output_table: churn_predictions}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vars: Option<IndexMap<String, VarValue>>,
}

/// The value of a target's variable: a string, number or boolean (pipelines see its text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VarValue {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// An adapter chosen by `type`, with adapter-specific `config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdapterSettings {
    /// The adapter's name, e.g. `local` or `local_file`.
    /// `mbt deps list` shows the adapters of each kind this build runs.
    #[serde(rename = "type")]
    pub kind: String,
    /// Adapter-specific options.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub config: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsSettings {
    /// The secrets provider's registered name, e.g. `env`.
    pub provider: String,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub config: serde_json::Map<String, serde_json::Value>,
}
