//! The adapter table: every adapter MBT knows, by kind and name, with its configuration type,
//! what it needs at run time, and whether this build provides it. The compiler checks pipelines
//! and targets against it, the language server completes and documents from it, `mbt deps list`
//! prints it, and the runtime's registry must implement exactly its available entries (a test
//! holds them together). Nothing outside this table promises an adapter.
//!
//! A target's settings reach the manifest typed ([`TargetSettings`]): one enum per kind whose
//! variants are the available adapters, each `{"type": NAME, "config": {...}}`. An adapter that
//! is not in this build has no variant, so no manifest can name it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::frameworks::{AutomlConfig, GbmConfig, H2oAutomlConfig, SklearnConfig, SmartcoreConfig};
use crate::schema::schema_of;
use crate::secret::SecretRef;

/// What an adapter does for a run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AdapterKind {
    /// Trains and scores models (`model_training.framework` in a pipeline).
    Framework,
    /// Stores step outputs (artifacts).
    Storage,
    /// Reads tables.
    DataConnector,
    /// Records training runs and hands their artifacts to serving.
    ModelRegistry,
    /// Writes serving's predictions.
    OutputWriter,
    /// Runs steps.
    Executor,
    /// Resolves `{{ secret('NAME') }}` references at run time.
    Secrets,
    /// Sends each step's and run's metrics to a monitoring system (optional in a target).
    Metrics,
}

impl AdapterKind {
    pub const ALL: &'static [AdapterKind] = &[
        AdapterKind::Framework,
        AdapterKind::Storage,
        AdapterKind::DataConnector,
        AdapterKind::ModelRegistry,
        AdapterKind::OutputWriter,
        AdapterKind::Executor,
        AdapterKind::Secrets,
        AdapterKind::Metrics,
    ];

    /// The kind's name, which is also its key in a target (`storage:`, `data_connector:`...).
    pub fn as_str(self) -> &'static str {
        match self {
            AdapterKind::Framework => "framework",
            AdapterKind::Storage => "storage",
            AdapterKind::DataConnector => "data_connector",
            AdapterKind::ModelRegistry => "model_registry",
            AdapterKind::OutputWriter => "output_writer",
            AdapterKind::Executor => "executor",
            AdapterKind::Secrets => "secrets",
            AdapterKind::Metrics => "metrics",
        }
    }

    /// In words, for messages ("data connector").
    pub fn describe(self) -> &'static str {
        match self {
            AdapterKind::Framework => "framework",
            AdapterKind::Storage => "storage",
            AdapterKind::DataConnector => "data connector",
            AdapterKind::ModelRegistry => "model registry",
            AdapterKind::OutputWriter => "output writer",
            AdapterKind::Executor => "executor",
            AdapterKind::Secrets => "secrets provider",
            AdapterKind::Metrics => "metrics emitter",
        }
    }

    /// The target key naming a kind, if it is one (`framework` is chosen in pipelines).
    pub fn from_target_key(key: &str) -> Option<AdapterKind> {
        AdapterKind::ALL
            .iter()
            .copied()
            .find(|kind| *kind != AdapterKind::Framework && kind.as_str() == key)
    }
}

impl std::fmt::Display for AdapterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One adapter of the table.
pub struct AdapterSpec {
    pub kind: AdapterKind,
    pub name: &'static str,
    /// One sentence for hover and `mbt deps list`.
    pub description: &'static str,
    /// Whether this build runs it. An adapter that is not available is still known, so that
    /// `mbt check` can say so (instead of "unknown") and check its configuration.
    pub available: bool,
    /// What it needs outside MBT at run time ("nothing" for pure Rust).
    pub needs: &'static str,
    /// The JSON Schema of the `config` it takes where it is chosen (a target's `config:`, or
    /// a pipeline's `model_training.config` for frameworks).
    pub config_schema: fn() -> &'static Value,
}

impl AdapterSpec {
    pub fn config_schema(&self) -> &'static Value {
        (self.config_schema)()
    }
}

macro_rules! schema_fn {
    ($type:ty) => {{
        fn schema() -> &'static Value {
            static SCHEMA: OnceLock<Value> = OnceLock::new();
            SCHEMA.get_or_init(schema_of::<$type>)
        }
        schema
    }};
}

/// Every adapter, by kind then name.
pub static ADAPTERS: &[AdapterSpec] = &[
    AdapterSpec {
        kind: AdapterKind::Framework,
        name: "automl",
        description: "MBT's own AutoML: a portfolio of gradient boosting configurations and regularized linear and k-NN models, ranked by cross-validation within a time budget, then a greedy ensemble of the best when it wins; H2O AutoML's keys.",
        available: true,
        needs: "nothing",
        config_schema: schema_fn!(AutomlConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Framework,
        name: "gbm",
        description: "MBT's histogram gradient boosting in pure Rust: binary, multiclass and regression, missing values learned per split, early stopping.",
        available: true,
        needs: "nothing",
        config_schema: schema_fn!(GbmConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Framework,
        name: "h2o_automl",
        description: "H2O-3 AutoML over H2O's REST API: on the cluster of the target's `h2o: {url}`, or on a local H2O node started for the run; the leader stored as a MOJO, scored by the cluster or offline on the JVM.",
        available: true,
        needs: "Java 17 and H2O-3 3.46.0.11: a cluster URL, or the `h2o.jar` of PyPI's `h2o` package (`pip install h2o==3.46.0.11` in the project's .venv, `h2o: {jar: PATH}`, or MBT_H2O_JAR)",
        config_schema: schema_fn!(H2oAutomlConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Framework,
        name: "sklearn",
        description: "scikit-learn estimators by class name with scikit-learn's parameter names, run by a Python worker: random forests, gradient boosting, histogram gradient boosting, logistic regression, ridge, linear regression.",
        available: true,
        needs: "Python 3 with scikit-learn, pandas and pyarrow (`MBT_PYTHON`, the project's .venv, or python3)",
        config_schema: schema_fn!(SklearnConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Framework,
        name: "smartcore",
        description: "smartcore models in Rust by class name: random forest, logistic regression, decision trees, KNN, Gaussian NB, linear/ridge/lasso/elastic net.",
        available: true,
        needs: "nothing",
        config_schema: schema_fn!(SmartcoreConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Storage,
        name: "local",
        description: "Artifacts as files under `base_path` (default `local_artifacts`), written atomically.",
        available: true,
        needs: "a writable folder",
        config_schema: schema_fn!(LocalStorageConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Storage,
        name: "s3",
        description: "Artifacts in an S3-compatible bucket (AWS S3 or a self-hosted store, path-style): requests signed with SigV4, large artifacts streamed in multipart uploads, retried with backoff; an object appears only once complete.",
        available: true,
        needs: "an S3-compatible object store and its bucket",
        config_schema: schema_fn!(S3Config),
    },
    AdapterSpec {
        kind: AdapterKind::DataConnector,
        name: "local_file",
        description: "Tables as `<data_path>/<table>.csv` or `.parquet` (default `sample_data`).",
        available: true,
        needs: "a folder of CSV or Parquet files",
        config_schema: schema_fn!(LocalFileConfig),
    },
    AdapterSpec {
        kind: AdapterKind::DataConnector,
        name: "postgres",
        description: "Tables and views of a PostgreSQL database, read with binary COPY; the columns and the date range a step needs pushed down as SQL.",
        available: true,
        needs: "a PostgreSQL server (9.4 or later)",
        config_schema: schema_fn!(PostgresConfig),
    },
    AdapterSpec {
        kind: AdapterKind::DataConnector,
        name: "snowflake",
        description: "Tables of a Snowflake warehouse (not available in this build).",
        available: false,
        needs: "a Snowflake account",
        config_schema: schema_fn!(SnowflakeConfig),
    },
    AdapterSpec {
        kind: AdapterKind::ModelRegistry,
        name: "local",
        description: "Runs and their artifacts as files under `base_path` (default `local_registry`).",
        available: true,
        needs: "a writable folder",
        config_schema: schema_fn!(LocalRegistryConfig),
    },
    AdapterSpec {
        kind: AdapterKind::ModelRegistry,
        name: "mlflow",
        description: "An MLflow tracking server over its REST API: runs with params, metrics, tags and artifacts (the model as an MLflow model directory); `sqlite:///FILE` runs a local `mlflow server` on that store for the run.",
        available: true,
        needs: "an MLflow tracking server (`http(s)://`), or MLflow installed for `sqlite:///`",
        config_schema: schema_fn!(MlflowConfig),
    },
    AdapterSpec {
        kind: AdapterKind::ModelRegistry,
        name: "s3",
        description: "Runs and their artifacts as objects of an S3-compatible bucket (`<prefix>/<run>/run.json`, written last), registered models' versions claimed with conditional writes: a registry every machine of an orchestrated run shares.",
        available: true,
        needs: "an S3-compatible object store and its bucket",
        config_schema: schema_fn!(S3Config),
    },
    AdapterSpec {
        kind: AdapterKind::OutputWriter,
        name: "local_file",
        description: "Predictions as CSV or Parquet (by the table's extension) under `output_path` (default `predictions`).",
        available: true,
        needs: "a writable folder",
        config_schema: schema_fn!(LocalOutputConfig),
    },
    AdapterSpec {
        kind: AdapterKind::OutputWriter,
        name: "postgres",
        description: "Predictions into a PostgreSQL table (created if absent), appended or replaced per run in one transaction with binary COPY: a failed publish leaves the table as it was.",
        available: true,
        needs: "a PostgreSQL server (9.4 or later)",
        config_schema: schema_fn!(PostgresConfig),
    },
    AdapterSpec {
        kind: AdapterKind::OutputWriter,
        name: "s3",
        description: "Predictions as an object `<prefix>/<table>` of an S3-compatible bucket (CSV, or Parquet by the table's extension), replaced whole by each run.",
        available: true,
        needs: "an S3-compatible object store and its bucket",
        config_schema: schema_fn!(S3Config),
    },
    AdapterSpec {
        kind: AdapterKind::OutputWriter,
        name: "snowflake",
        description: "Predictions into a Snowflake table (not available in this build).",
        available: false,
        needs: "a Snowflake account",
        config_schema: schema_fn!(SnowflakeConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Executor,
        name: "kubernetes",
        description: "Each step as a Kubernetes pod running `mbt exec`, scheduled by the Airflow DAG `mbt generate-dags` writes (KubernetesPodOperator with the target's image, namespace, service account and secrets, and each step's resources); `mbt run` on such a target is refused (MBT4025): its steps run where the orchestrator puts them.",
        available: true,
        needs: "a Kubernetes cluster, an image with mbt and the project, and Airflow with apache-airflow-providers-cncf-kubernetes",
        config_schema: schema_fn!(KubernetesConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Executor,
        name: "local",
        description: "Steps in this process; the steps of one batch on parallel threads.",
        available: true,
        needs: "nothing",
        config_schema: schema_fn!(LocalExecutorConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Metrics,
        name: "pushgateway",
        description: "Each step's duration, status and rows in/out and each run's evaluation metrics and prediction count pushed to a Prometheus Pushgateway (`mbt_step_duration_seconds{pipeline, target, step}`...); a failed push is a warning, never a failed run.",
        available: true,
        needs: "a Prometheus Pushgateway",
        config_schema: schema_fn!(PushgatewayConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Metrics,
        name: "statsd",
        description: "Each step's duration, status and rows in/out and each run's evaluation metrics and prediction count as StatsD gauges over UDP (`mbt.<pipeline>.<step>.duration_seconds`...); emission never fails a run.",
        available: true,
        needs: "a StatsD server (UDP)",
        config_schema: schema_fn!(StatsdConfig),
    },
    AdapterSpec {
        kind: AdapterKind::Secrets,
        name: "env",
        description: "Each secret from the environment variable of the same name.",
        available: true,
        needs: "the environment variables",
        config_schema: schema_fn!(EnvSecretsConfig),
    },
];

/// The adapter `name` of `kind`, available or not.
pub fn adapter(kind: AdapterKind, name: &str) -> Option<&'static AdapterSpec> {
    ADAPTERS
        .iter()
        .find(|spec| spec.kind == kind && spec.name == name)
}

/// Every adapter of `kind`, available or not.
pub fn of_kind(kind: AdapterKind) -> impl Iterator<Item = &'static AdapterSpec> {
    ADAPTERS.iter().filter(move |spec| spec.kind == kind)
}

/// The names of the adapters of `kind` this build runs.
pub fn available_names(kind: AdapterKind) -> Vec<&'static str> {
    of_kind(kind)
        .filter(|spec| spec.available)
        .map(|spec| spec.name)
        .collect()
}

/// The names of every adapter of `kind`, available or not.
pub fn known_names(kind: AdapterKind) -> Vec<&'static str> {
    of_kind(kind).map(|spec| spec.name).collect()
}

/// The settings of adapter `name` with every option at its default (`{"type": name, "config":
/// {}}`), for a pipeline that names an adapter the target does not set; an error when the adapter
/// has required options (e.g. `mlflow`'s `tracking_uri`).
pub fn at_defaults<S: serde::de::DeserializeOwned>(name: &str) -> Result<S, serde_json::Error> {
    serde_json::from_value(serde_json::json!({"type": name, "config": {}}))
}

/// A config key that holds a credential by its name, for configurations without a type that
/// says so (an adapter MBT does not know): passwords, tokens, keys, accounts.
pub fn looks_like_credential(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "access_key",
        "private_key",
        "credential",
        "account",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// A target's settings as the runtime receives them: every kind set (the compiler fills the
/// embedded defaults), each to an adapter this build runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetSettings {
    pub executor: ExecutorSettings,
    pub storage: StorageSettings,
    pub data_connector: ConnectorSettings,
    pub model_registry: RegistrySettings,
    pub output_writer: WriterSettings,
    pub secrets: SecretsSettings,
    /// The plan's `h2o:` section: the cluster `h2o_automl` trains and scores on, or how to start
    /// a local one (absent: a local node with the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h2o: Option<H2oClusterConfig>,
    /// Where step and run metrics go (absent: nowhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsSettings>,
}

/// Where step and run metrics are sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum MetricsSettings {
    Pushgateway(PushgatewayConfig),
    Statsd(StatsdConfig),
}

/// Where steps run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum ExecutorSettings {
    Local(LocalExecutorConfig),
    Kubernetes(KubernetesConfig),
}

impl ExecutorSettings {
    /// What each step asks of the executor, by step name (`default` for every step).
    pub fn resources(&self) -> &BTreeMap<String, Resources> {
        match self {
            ExecutorSettings::Local(config) => &config.resources,
            ExecutorSettings::Kubernetes(config) => &config.resources,
        }
    }
}

/// Where step outputs are stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum StorageSettings {
    Local(LocalStorageConfig),
    S3(S3Config),
}

/// Where tables are read from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum ConnectorSettings {
    LocalFile(LocalFileConfig),
    Postgres(PostgresConfig),
}

/// Where training runs are recorded and serving loads them from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum RegistrySettings {
    Local(LocalRegistryConfig),
    Mlflow(MlflowConfig),
    S3(S3Config),
}

/// Where predictions are published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum WriterSettings {
    LocalFile(LocalOutputConfig),
    Postgres(PostgresConfig),
    S3(S3Config),
}

/// How secret references are resolved. `provider` (not `type`) names it, as in the plan's
/// profiles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "provider",
    content = "config",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum SecretsSettings {
    Env(EnvSecretsConfig),
}

/// The adapter name of typed settings, as in the table.
pub trait Named {
    const KIND: AdapterKind;
    fn name(&self) -> &'static str;
}

macro_rules! named {
    ($type:ty, $kind:expr, { $($variant:pat => $name:literal),* $(,)? }) => {
        impl Named for $type {
            const KIND: AdapterKind = $kind;
            fn name(&self) -> &'static str {
                match self { $($variant => $name,)* }
            }
        }
    };
}

named!(ExecutorSettings, AdapterKind::Executor, {
    ExecutorSettings::Local(_) => "local",
    ExecutorSettings::Kubernetes(_) => "kubernetes",
});
named!(StorageSettings, AdapterKind::Storage, {
    StorageSettings::Local(_) => "local",
    StorageSettings::S3(_) => "s3",
});
named!(ConnectorSettings, AdapterKind::DataConnector, {
    ConnectorSettings::LocalFile(_) => "local_file",
    ConnectorSettings::Postgres(_) => "postgres",
});
named!(RegistrySettings, AdapterKind::ModelRegistry, {
    RegistrySettings::Local(_) => "local",
    RegistrySettings::Mlflow(_) => "mlflow",
    RegistrySettings::S3(_) => "s3",
});
named!(WriterSettings, AdapterKind::OutputWriter, {
    WriterSettings::LocalFile(_) => "local_file",
    WriterSettings::Postgres(_) => "postgres",
    WriterSettings::S3(_) => "s3",
});
named!(SecretsSettings, AdapterKind::Secrets, { SecretsSettings::Env(_) => "env" });
named!(MetricsSettings, AdapterKind::Metrics, {
    MetricsSettings::Pushgateway(_) => "pushgateway",
    MetricsSettings::Statsd(_) => "statsd",
});

impl TargetSettings {
    /// The embedded defaults: local executor, files and registry, env secrets; nothing needs a
    /// server. A target's kinds that it does not set take these.
    pub fn embedded() -> TargetSettings {
        TargetSettings {
            executor: ExecutorSettings::Local(Default::default()),
            storage: StorageSettings::Local(Default::default()),
            data_connector: ConnectorSettings::LocalFile(Default::default()),
            model_registry: RegistrySettings::Local(Default::default()),
            output_writer: WriterSettings::LocalFile(Default::default()),
            secrets: SecretsSettings::Env(Default::default()),
            h2o: None,
            metrics: None,
        }
    }

    /// The adapter of each kind the target sets, by kind (frameworks are chosen by pipelines;
    /// a metrics emitter only when the target has one).
    pub fn names(&self) -> BTreeMap<AdapterKind, &'static str> {
        let mut names = BTreeMap::from([
            (AdapterKind::Executor, self.executor.name()),
            (AdapterKind::Storage, self.storage.name()),
            (AdapterKind::DataConnector, self.data_connector.name()),
            (AdapterKind::ModelRegistry, self.model_registry.name()),
            (AdapterKind::OutputWriter, self.output_writer.name()),
            (AdapterKind::Secrets, self.secrets.name()),
        ]);
        if let Some(metrics) = &self.metrics {
            names.insert(AdapterKind::Metrics, metrics.name());
        }
        names
    }
}

fn default_artifacts() -> String {
    "local_artifacts".into()
}

fn default_data() -> String {
    "sample_data".into()
}

fn default_registry() -> String {
    "local_registry".into()
}

fn default_predictions() -> String {
    "predictions".into()
}

fn default_statsd_host() -> String {
    "127.0.0.1".into()
}

fn default_statsd_port() -> u16 {
    8125
}

fn default_prefix() -> String {
    "mbt".into()
}

/// `statsd` metrics emitter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsdConfig {
    /// The StatsD server's host (default 127.0.0.1).
    #[serde(default = "default_statsd_host")]
    #[schemars(default = "default_statsd_host")]
    pub host: String,
    /// Its UDP port (default 8125).
    #[serde(default = "default_statsd_port")]
    #[schemars(default = "default_statsd_port")]
    pub port: u16,
    /// The first part of every metric name (default `mbt`).
    #[serde(default = "default_prefix")]
    #[schemars(default = "default_prefix")]
    pub prefix: String,
}

/// `pushgateway` metrics emitter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushgatewayConfig {
    /// The Pushgateway, `http(s)://HOST:PORT` (e.g. `http://pushgateway:9091`).
    pub url: String,
    /// The `job` label of every group MBT pushes (default `mbt`).
    #[serde(default = "default_prefix")]
    #[schemars(default = "default_prefix")]
    pub job: String,
    /// Basic authentication's user (with `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// `local` storage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalStorageConfig {
    /// The folder (relative to the project) holding `<run>/<step>/<artifact>`.
    #[serde(default = "default_artifacts")]
    #[schemars(default = "default_artifacts")]
    pub base_path: String,
}

impl Default for LocalStorageConfig {
    fn default() -> Self {
        LocalStorageConfig {
            base_path: default_artifacts(),
        }
    }
}

/// `local_file` data connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalFileConfig {
    /// The folder (relative to the project) holding `<table>.csv` or `<table>.parquet`.
    #[serde(default = "default_data")]
    #[schemars(default = "default_data")]
    pub data_path: String,
    /// CSV columns read as this type instead of the inferred one (e.g. ids with leading zeros).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_types: BTreeMap<String, CsvColumnType>,
}

impl Default for LocalFileConfig {
    fn default() -> Self {
        LocalFileConfig {
            data_path: default_data(),
            column_types: BTreeMap::new(),
        }
    }
}

/// A CSV column type override.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CsvColumnType {
    String,
    Integer,
    Float,
    Boolean,
}

/// `local` model registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalRegistryConfig {
    /// The folder (relative to the project) holding `<run>/run.json` and its artifacts.
    #[serde(default = "default_registry")]
    #[schemars(default = "default_registry")]
    pub base_path: String,
}

impl Default for LocalRegistryConfig {
    fn default() -> Self {
        LocalRegistryConfig {
            base_path: default_registry(),
        }
    }
}

/// `local_file` output writer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalOutputConfig {
    /// The folder (relative to the project) predictions are written to.
    #[serde(default = "default_predictions")]
    #[schemars(default = "default_predictions")]
    pub output_path: String,
}

impl Default for LocalOutputConfig {
    fn default() -> Self {
        LocalOutputConfig {
            output_path: default_predictions(),
        }
    }
}

/// `local` executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalExecutorConfig {
    /// Resources per step name (`default` for every step), recorded in the manifest for
    /// `mbt test` and orchestrators; the local executor itself does not limit them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Resources>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
/// What a step asks of the executor (a target's `executor.config.resources`, and each
/// manifest step's `resources`).
pub struct Resources {
    /// e.g. `8Gi`.
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub cpu: Option<f64>,
}

/// `env` secrets provider: no options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvSecretsConfig {}

/// `mlflow` model registry (also the plan's `mlflow:` section of a target).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MlflowConfig {
    /// The tracking server, `http(s)://HOST:PORT`; or `sqlite:///FILE` (relative to the
    /// project), a store MBT serves through a local `mlflow server` for the run (MLflow
    /// installed: `MBT_MLFLOW`, the project's .venv, or `mlflow` on PATH; without it, the
    /// embedded local registry with a warning).
    pub tracking_uri: String,
    /// Basic authentication's user (with `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// A bearer token (instead of `username`/`password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretRef>,
}

// Adapters MBT knows but this build does not run (and `s3` and `postgres`, which live among
// them for their kinship with the cloud ones). Their configuration is checked (credentials included) so
// that a target is reported completely; none can reach a manifest.

/// `s3` storage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The signing region (default `us-east-1`; self-hosted stores accept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// For S3-compatible stores, e.g. `http://127.0.0.1:3900` (default: AWS S3 of the region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Keys start with it, e.g. `mbt/staging` (default: the bucket's root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key` (default: true
    /// with an `endpoint`, false for AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// `{{ secret('NAME') }}`, with `secret_access_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<SecretRef>,
}

/// `postgres` data connector and output writer: one connection's settings (the writer also
/// takes `mode`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The server's host name or address.
    pub host: String,
    /// Default 5432.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub database: String,
    /// Default `postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `{{ secret('NAME') }}`; none for servers that trust the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// The schema unqualified table names are read from and written to (default `public`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// TLS: `disable` (default) or `require` (verified against the system's and webpki's roots,
    /// or `sslrootcert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslmode: Option<PostgresSslMode>,
    /// A PEM file of the certificate authority that signed the server's certificate (relative
    /// to the project), for `sslmode: require` with a private CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslrootcert: Option<String>,
    /// Output writer: `append` (default; rows of the same run are replaced, so a retried
    /// publish does not duplicate them) or `replace` (the table holds only this run's rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PublishMode>,
}

/// TLS to a PostgreSQL server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostgresSslMode {
    #[default]
    Disable,
    Require,
}

/// How a database output writer publishes a run's predictions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// Add the run's rows (the rows an earlier attempt of the same run wrote are replaced).
    #[default]
    Append,
    /// The table holds this run's rows only.
    Replace,
}

/// `snowflake` data connector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnowflakeConfig {
    pub account: SecretRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// `kubernetes` executor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// The namespace of the steps' pods (default `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The image the pods run: `mbt` on its PATH, the project as its working directory.
    pub image: String,
    /// The pods' service account (default: the namespace's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// The Kubernetes Secret holding the pipelines' secrets, one key per `secret('NAME')`,
    /// given to the pods as environment variables (default `mbt-secrets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Resources per step name (`default` for every step): each pod's requests and limits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Resources>,
}

/// The plan's `h2o:` section of a target: the cluster `h2o_automl` trains and scores on
/// (`url`), or, without one, how to start a local H2O node for the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct H2oClusterConfig {
    /// The cluster's REST endpoint, e.g. `http://h2o.internal:54321`. Without it, training
    /// starts a local node on loopback and stops it after the run; serving scores offline from
    /// the MOJO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// The local node's threads (`-nthreads`; default: every core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub nthreads: Option<u32>,
    /// The local node's heap (`-Xmx`, e.g. `4g`; default `2g`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+[mMgG]$"))]
    pub max_mem: Option<String>,
    /// The `h2o.jar` for a local node and offline scoring (default: `$MBT_H2O_JAR`, then the
    /// `h2o` package in the project's `.venv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jar: Option<String>,
}

/// The JSON Schema of the `h2o:` section.
pub fn h2o_cluster_schema() -> &'static Value {
    schema_fn!(H2oClusterConfig)()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typed_variant_is_an_available_table_entry_and_back() {
        for (kind, name) in TargetSettings::embedded().names() {
            let spec = adapter(kind, name).unwrap_or_else(|| panic!("{kind} {name}"));
            assert!(spec.available, "{kind} {name}");
        }
        // Each kind's typed enum has exactly the table's available names: its JSON Schema
        // lists the variants' `type` constants.
        for (kind, schema) in [
            (AdapterKind::Executor, schema_of::<ExecutorSettings>()),
            (AdapterKind::Storage, schema_of::<StorageSettings>()),
            (AdapterKind::DataConnector, schema_of::<ConnectorSettings>()),
            (AdapterKind::ModelRegistry, schema_of::<RegistrySettings>()),
            (AdapterKind::OutputWriter, schema_of::<WriterSettings>()),
            (AdapterKind::Secrets, schema_of::<SecretsSettings>()),
            (
                AdapterKind::Framework,
                schema_of::<crate::frameworks::FrameworkConfig>(),
            ),
        ] {
            let tag = if kind == AdapterKind::Secrets {
                "provider"
            } else if kind == AdapterKind::Framework {
                "framework"
            } else {
                "type"
            };
            let mut names: Vec<&str> = schema["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .map(|branch| branch["properties"][tag]["const"].as_str().unwrap())
                .collect();
            names.sort();
            assert_eq!(names, available_names(kind), "{kind}");
        }
    }

    #[test]
    fn names_are_unique_per_kind_and_schemas_build() {
        for spec in ADAPTERS {
            let same = ADAPTERS
                .iter()
                .filter(|other| other.kind == spec.kind && other.name == spec.name)
                .count();
            assert_eq!(same, 1, "{} {}", spec.kind, spec.name);
            assert!(spec.config_schema().is_object());
            assert!(
                spec.available || spec.description.contains("not available in this build"),
                "{} says it runs",
                spec.name
            );
        }
        assert!(looks_like_credential("PASSWORD"));
        assert!(looks_like_credential("secret_access_key"));
        assert!(!looks_like_credential("bucket"));
    }
}
