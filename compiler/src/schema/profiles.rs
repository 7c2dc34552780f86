//! `profiles.yaml`: where and how pipelines run, owned by data engineers.
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
    /// Default MLflow server for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<MlflowSettings>,
    /// Default H2O cluster for every target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h2o: Option<H2oSettings>,
}

/// Settings of one target; the profile level holds defaults for every target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    /// Where steps run (`local`; others are configuration for orchestrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<AdapterSettings>,
    /// Where artifacts are stored (`local`: `base_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<AdapterSettings>,
    /// Where tables are read from (`local_file`: `data_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_connector: Option<AdapterSettings>,
    /// The model registry (`local` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_registry: Option<AdapterSettings>,
    /// Where serving pipelines write predictions (`local_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_writer: Option<AdapterSettings>,
    /// Secrets provider (`env` reads environment variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretsSettings>,
    /// MLflow tracking server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<MlflowSettings>,
    /// H2O cluster for the `h2o_automl` framework.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h2o: Option<H2oSettings>,
}

/// An adapter chosen by `type`, with adapter-specific `config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdapterSettings {
    /// The adapter's registered name, e.g. `local`, `local_file`, `s3`, `kubernetes`.
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MlflowSettings {
    /// e.g. `http://127.0.0.1:5000` or `sqlite:///mlruns.db`.
    pub tracking_uri: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct H2oSettings {
    /// e.g. `http://127.0.0.1:54321`.
    pub url: String,
}
