//! Adapter contracts: one trait per kind of the adapter table (`framework`, `storage`,
//! `data_connector`, `model_registry`, `output_writer`, `executor`, `secrets`).
//!
//! Built-in implementations live in their own modules and register in [`registry::Registry`]
//! under the table's names; steps reach adapters only through the run's
//! [`registry::Adapters`], never by naming an implementation, so adding an adapter touches no
//! step code. This module knows nothing of the runner or the steps.

pub mod automl;
mod gbm;
mod h2o;
mod kubernetes;
pub mod local;
pub mod memory;
pub mod mlflow;
pub mod monitoring;
mod postgres;
mod process;
pub mod registry;
pub mod rest;
mod s3;
pub mod sklearn;
mod smartcore;

use std::collections::BTreeMap;
use std::path::Path;

use mbt_contract::frameworks::FrameworkConfig;
use mbt_contract::secret::SecretRef;
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{coded, Code, Coded};
use crate::features::{Columns, Matrix};

pub use registry::{Adapters, Registry};

/// What a factory may use: the project folder (relative paths) and the secrets provider.
pub struct BuildContext<'a> {
    pub project: &'a Path,
    secrets: &'a dyn SecretsProvider,
}

impl<'a> BuildContext<'a> {
    pub fn new(project: &'a Path, secrets: &'a dyn SecretsProvider) -> BuildContext<'a> {
        BuildContext { project, secrets }
    }

    /// The value of a credential, for the adapter being built only: never store it where it
    /// could be written (a record, a log line, an error message).
    pub fn secret(&self, reference: &SecretRef) -> anyhow::Result<String> {
        self.secrets.get_secret(reference.name()).code(
            Code::SecretNotSet,
            format!(
                "set the secret `{}` in the target's secrets provider (for `env`: export {})",
                reference.name(),
                reference.name()
            ),
        )
    }
}

/// What a framework factory may use: the run's build context and the target's framework
/// settings.
pub struct FrameworkContext<'a> {
    pub build: BuildContext<'a>,
    /// The target's `h2o:` section.
    pub h2o: Option<&'a mbt_contract::adapters::H2oClusterConfig>,
}

/// Produces an artifact's bytes into a writer (a large frame is encoded straight to storage).
pub type Writing<'a> = dyn FnMut(&mut dyn std::io::Write) -> anyhow::Result<()> + 'a;

/// What every adapter may do around a run: hold state or a connection, opened once before the
/// first step uses it and closed once after the last (also when the run failed).
pub trait Adapter: Send + Sync {
    fn setup(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn teardown(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// What the run should know about this adapter after setup (e.g. a fallback it chose).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Where artifacts live: `put` returns a URI that `get` and `exists` accept.
pub trait Storage: Adapter {
    /// Where `put(run_id, step, name, ..)` stores its bytes (`mbt exec` finds inputs by it).
    fn uri(&self, run_id: &str, step: &str, name: &str) -> String;
    fn put(&self, run_id: &str, step: &str, name: &str, data: &[u8]) -> anyhow::Result<String>;
    /// Like `put`, with the bytes written by `write`. Storage that can stream (local files)
    /// overrides this; the default collects the bytes first.
    fn put_with(
        &self,
        run_id: &str,
        step: &str,
        name: &str,
        write: &mut Writing<'_>,
    ) -> anyhow::Result<String> {
        let mut bytes = Vec::new();
        write(&mut bytes)?;
        self.put(run_id, step, name, &bytes)
    }
    fn get(&self, uri: &str) -> anyhow::Result<Vec<u8>>;
    fn exists(&self, uri: &str) -> bool;

    /// Whether the store answers, for `mbt debug`: what it found, or why not.
    fn health(&self) -> anyhow::Result<String> {
        Ok("ready".into())
    }
}

/// What to read: a table, optionally only some columns and only the rows whose date column lies
/// in a range (connectors over databases push both down; files filter after reading).
#[derive(Clone, Copy, Debug)]
pub struct TableRequest<'a> {
    pub table: &'a str,
    pub columns: Option<&'a [String]>,
    /// (date column, range).
    pub date_range: Option<(&'a str, crate::windows::Range)>,
}

impl<'a> TableRequest<'a> {
    /// Every column and row of `table`.
    pub fn table(table: &'a str) -> TableRequest<'a> {
        TableRequest {
            table,
            columns: None,
            date_range: None,
        }
    }
}

/// Where tables come from.
pub trait DataConnector: Adapter {
    /// Whether the data answers, for `mbt debug`: what it found, or why not.
    fn health(&self) -> anyhow::Result<String> {
        Ok("ready".into())
    }

    fn read(&self, request: &TableRequest<'_>) -> anyhow::Result<DataFrame>;

    /// Every column and row of `table`.
    fn read_table(&self, table: &str) -> anyhow::Result<DataFrame> {
        self.read(&TableRequest::table(table))
    }
}

/// What a training run leaves behind in a model registry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub pipeline: String,
    pub target: String,
    pub params: BTreeMap<String, Value>,
    pub metrics: BTreeMap<String, f64>,
    pub tags: BTreeMap<String, String>,
    /// Artifact name → URI in the registry.
    pub artifacts: BTreeMap<String, String>,
    pub manifest_hash: String,
    pub mbt_version: String,
    /// When the run was recorded (RFC 3339 UTC); orders runs for `run_id: latest`.
    #[serde(default)]
    pub recorded_at: Option<String>,
}

/// Which runs `run_id: latest` chooses from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFilter<'a> {
    /// Runs of this training pipeline.
    Pipeline(&'a str),
    /// Runs tagged with this experiment.
    Experiment(&'a str),
    Any,
}

impl RunFilter<'_> {
    pub fn accepts(&self, record: &RunRecord) -> bool {
        match self {
            RunFilter::Pipeline(name) => record.pipeline == *name,
            RunFilter::Experiment(name) => {
                record.tags.get("experiment").map(String::as_str) == Some(*name)
            }
            RunFilter::Any => true,
        }
    }
}

impl std::fmt::Display for RunFilter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunFilter::Pipeline(name) => write!(f, "of pipeline `{name}`"),
            RunFilter::Experiment(name) => write!(f, "of experiment `{name}`"),
            RunFilter::Any => f.write_str("of any pipeline"),
        }
    }
}

/// The most recent of `records` that `filter` accepts (by `recorded_at`, then run id); `where_`
/// names the registry in the error when there is none.
pub fn latest<'a>(
    records: impl IntoIterator<Item = &'a RunRecord>,
    filter: RunFilter<'_>,
    where_: &str,
) -> anyhow::Result<&'a RunRecord> {
    records
        .into_iter()
        .filter(|record| filter.accepts(record))
        .max_by(|a, b| {
            (a.recorded_at.as_deref(), a.run_id.as_str())
                .cmp(&(b.recorded_at.as_deref(), b.run_id.as_str()))
        })
        .ok_or_else(|| {
            let first = match filter {
                RunFilter::Pipeline(name) => format!("run `mbt run {name}` first"),
                _ => "run the training pipeline first".to_string(),
            };
            coded(
                Code::RunNotFound,
                format!("`run_id: latest` found no run {filter} in {where_}"),
                format!("{first}, or pin a run with `--vars run_id=RUN_ID`"),
            )
        })
}

/// The coded error of a registered model's alias or version that `place` does not hold.
pub fn alias_not_found(what: String, place: &str, name: &str, alias: &str) -> anyhow::Error {
    coded(
        Code::RunNotFound,
        format!("{what} in {place}"),
        format!(
            "train a pipeline whose `registration` is `{{registered_model_name: {name}, \
             alias: {alias}}}` first, or load a run by `run_id`"
        ),
    )
}

/// Records runs and hands their artifacts back by run id.
pub trait ModelRegistry: Adapter {
    /// Whether the registry answers (after `setup`), for `mbt debug`: what it found, or why not.
    fn health(&self) -> anyhow::Result<String> {
        Ok("ready".into())
    }
    fn log_run(
        &self,
        record: &RunRecord,
        artifacts: &[(String, Vec<u8>)],
    ) -> anyhow::Result<RunRecord>;
    fn load_run(&self, run_id: &str) -> anyhow::Result<RunRecord>;
    /// The most recent run `filter` accepts (`run_id: latest`).
    fn latest_run(&self, filter: RunFilter<'_>) -> anyhow::Result<RunRecord>;
    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>>;
    /// Registers the logged run's model as a new version of `name` and moves `alias` to it;
    /// returns the version.
    fn register_model(
        &self,
        record: &RunRecord,
        name: &str,
        alias: Option<&str>,
    ) -> anyhow::Result<String> {
        let _ = (record, alias);
        Err(coded(
            Code::AdapterFailed,
            format!("this model registry cannot register model `{name}`"),
            "use the `local` or `mlflow` model registry",
        ))
    }
    /// The run whose model version `alias` of `name` points at.
    fn resolve_alias(&self, name: &str, alias: &str) -> anyhow::Result<String> {
        Err(coded(
            Code::RunNotFound,
            format!("this model registry has no registered model `{name}@{alias}`"),
            "use the `local` or `mlflow` model registry",
        ))
    }
}

/// Writes published tables (serving's predictions); returns where the table went. Publishing
/// the same run again replaces what its earlier attempt wrote.
pub trait OutputWriter: Adapter {
    fn write(&self, table: &str, frame: &DataFrame, run_id: &str) -> anyhow::Result<String>;

    /// Whether the destination answers, for `mbt debug`: what it found, or why not.
    fn health(&self) -> anyhow::Result<String> {
        Ok("ready".into())
    }
}

/// One unit of work of an execution batch. It reports its own result (the runner's closures
/// capture where to put it), so an executor needs to know nothing of steps.
pub type Job<'a> = Box<dyn FnOnce() + Send + 'a>;

/// Runs the independent jobs of one execution batch and returns when every one has finished.
/// Jobs do not panic out (the runner catches panics inside each job).
pub trait Executor: Adapter {
    fn run_batch<'a>(&self, jobs: Vec<Job<'a>>);

    /// Whether `mbt run` may run a whole pipeline through this executor from this process
    /// (an executor whose steps an orchestrator schedules says why not). `mbt exec`, one step
    /// where the orchestrator put it, runs on any executor.
    fn runs_here(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Resolves `{{ secret('NAME') }}` references at run time.
pub trait SecretsProvider: Send + Sync {
    fn get_secret(&self, name: &str) -> anyhow::Result<String>;
}

/// A trained model in its framework's serialized form: a JSON payload and, for frameworks whose
/// models are files (a MOJO, a pickle), binary bytes stored beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SerializedModel {
    pub framework: String,
    /// Bumped when the framework's serialized form changes incompatibly.
    pub format_version: u32,
    pub payload: String,
    /// The length of the binary part, when there is one (stored as `<artifact>.bin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_len: Option<u64>,
    /// The binary part itself; it travels beside the JSON, never inside it.
    #[serde(skip)]
    pub binary: Option<std::sync::Arc<Vec<u8>>>,
}

impl SerializedModel {
    /// A model whose whole form is its JSON payload.
    pub fn json(framework: &str, format_version: u32, payload: String) -> SerializedModel {
        SerializedModel {
            framework: framework.to_string(),
            format_version,
            payload,
            binary_len: None,
            binary: None,
        }
    }
}

/// A row of an AutoML leaderboard (MBT's `automl`, H2O's `h2o_automl`), best first: the
/// candidate, its cross-validated metric (± the standard deviation across folds, when known),
/// its fit time and its prediction time per 1,000 rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    pub model_id: String,
    pub algorithm: String,
    pub params: Value,
    pub metric: String,
    pub score: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// Measured times: in the run's `leaderboard.json`, not in a model (a model's bytes
    /// depend only on its data, config and seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predict_ms_per_1k: Option<f64>,
}

/// A trained model and what the training found out beside it.
pub struct Trained {
    pub model: SerializedModel,
    /// The leaderboard with its measured times (AutoML frameworks); stored with the run.
    pub leaderboard: Option<Vec<LeaderboardRow>>,
    /// Things the user should know (columns left out, ...): recorded with the run.
    pub warnings: Vec<String>,
}

impl From<SerializedModel> for Trained {
    fn from(model: SerializedModel) -> Trained {
        Trained {
            model,
            leaderboard: None,
            warnings: Vec::new(),
        }
    }
}

/// What a model must predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Labels are 0/1 (1 = the positive class).
    Binary,
    /// Labels are class indices `0..classes`.
    Multiclass(usize),
    Regression,
}

impl Task {
    /// How model payloads record a task: `binary`, `multiclass` or `regression`, and the
    /// number of classes (0 for regression).
    pub fn spec(self) -> (&'static str, usize) {
        match self {
            Task::Binary => ("binary", 2),
            Task::Multiclass(classes) => ("multiclass", classes),
            Task::Regression => ("regression", 0),
        }
    }

    /// The task a payload recorded with [`Task::spec`].
    pub fn from_spec(name: &str, classes: usize) -> Task {
        match name {
            "binary" => Task::Binary,
            "multiclass" => Task::Multiclass(classes),
            _ => Task::Regression,
        }
    }

    pub fn problem_type(self) -> mbt_contract::pipeline::ProblemType {
        use mbt_contract::pipeline::ProblemType;
        match self {
            Task::Binary => ProblemType::BinaryClassification,
            Task::Multiclass(_) => ProblemType::MulticlassClassification,
            Task::Regression => ProblemType::Regression,
        }
    }
}

/// The budget of `automl` and `h2o_automl` when the config gives neither `max_runtime_secs`
/// nor `max_models` (MBT's, not H2O's hour).
pub const AUTOML_DEFAULT_BUDGET_SECS: u32 = 60;

/// Refuses an AutoML `sort_metric` that does not fit the task (the compiler checks it too;
/// this covers manifests from any source).
pub fn check_sort_metric(
    metric: Option<mbt_contract::frameworks::H2oSortMetric>,
    task: Task,
) -> anyhow::Result<()> {
    let Some(metric) = metric else {
        return Ok(());
    };
    let name = serde_json::to_value(metric)?;
    let valid = mbt_contract::frameworks::h2o_sort_metrics(task.problem_type());
    anyhow::ensure!(
        valid.iter().any(|valid| name == *valid),
        "sort_metric {name} does not fit a {} task (valid: {})",
        task.spec().0,
        valid.join(", ")
    );
    Ok(())
}

/// A training framework. `train_model` calls `health_check` and `validate_config` before
/// `train`; `setup` runs once per run before the framework's first use and `teardown` once
/// after the run (frameworks backed by a server start or connect there).
pub trait Framework: Adapter {
    /// Whether what the framework needs outside MBT is there (a server, an interpreter): what
    /// it found, for `mbt debug`.
    fn health_check(&self) -> anyhow::Result<String> {
        Ok("ready".into())
    }

    /// Refuses a config this framework cannot train with (the compiler checks the schema; this
    /// catches what only the framework knows, for manifests from any source).
    fn validate_config(&self, _config: &FrameworkConfig, _task: Task) -> anyhow::Result<()> {
        Ok(())
    }

    /// Trains on the feature columns `x` (read one at a time; [`Matrix::gather`] builds the
    /// whole matrix for a framework that needs it) with labels `y`.
    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<SerializedModel>;
    /// [`Framework::train`] that stops growing the model at `deadline` (an AutoML budget):
    /// an engine that adds to its model step by step returns what it has by then (at least one
    /// step); the others ignore the deadline.
    fn train_until(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
        _deadline: Option<std::time::Instant>,
    ) -> anyhow::Result<SerializedModel> {
        self.train(x, y, task, config)
    }
    /// [`Framework::train`] with its leaderboard and warnings: what `train_model` calls.
    fn train_with_report(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &FrameworkConfig,
    ) -> anyhow::Result<Trained> {
        let model = self.train(x, y, task, config)?;
        let leaderboard = self.leaderboard(&model);
        Ok(Trained {
            leaderboard,
            ..Trained::from(model)
        })
    }
    /// Positive-class probabilities (binary), predictions (regression), or for multiclass
    /// every class's probability, row-major (`rows * classes` values, each row summing to 1).
    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>>;
    /// Importance per column, summing to 1.
    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>>;
    /// The leaderboard the model was chosen from (AutoML frameworks).
    fn leaderboard(&self, _model: &SerializedModel) -> Option<Vec<LeaderboardRow>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{latest, RunFilter, RunRecord};

    fn record(run_id: &str, pipeline: &str, experiment: &str, at: Option<&str>) -> RunRecord {
        RunRecord {
            run_id: run_id.into(),
            pipeline: pipeline.into(),
            tags: [("experiment".to_string(), experiment.to_string())].into(),
            recorded_at: at.map(str::to_string),
            ..RunRecord::default()
        }
    }

    #[test]
    fn latest_is_the_newest_recorded_run_the_filter_accepts() {
        let runs = [
            record("run_b", "train", "churn", Some("2026-03-02T00:00:00.000Z")),
            record("run_c", "train", "churn", Some("2026-03-01T00:00:00.000Z")),
            // An older record without a time sorts before every timed one.
            record("run_z", "train", "churn", None),
            record("run_a", "other", "fraud", Some("2026-03-03T00:00:00.000Z")),
        ];
        let pick = |filter| latest(&runs, filter, "here").unwrap().run_id.clone();
        assert_eq!(pick(RunFilter::Pipeline("train")), "run_b");
        assert_eq!(pick(RunFilter::Experiment("churn")), "run_b");
        assert_eq!(pick(RunFilter::Experiment("fraud")), "run_a");
        assert_eq!(pick(RunFilter::Any), "run_a");
        let error = latest(&runs, RunFilter::Pipeline("serve"), "here").unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "`run_id: latest` found no run of pipeline `serve` in here"
        );
        assert_eq!(
            crate::error::code_of(&error),
            Some((
                crate::error::Code::RunNotFound,
                "run `mbt run serve` first, or pin a run with `--vars run_id=RUN_ID`"
            ))
        );
    }
}
