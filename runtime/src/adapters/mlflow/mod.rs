//! `mlflow`: MLflow as the model registry, over its REST API (no Python at run time).
//!
//! A training run becomes an MLflow run in the experiment of the pipeline (`experiment_name`,
//! else the pipeline's name), with its params (nested config flattened to `a.b.c`), metrics and
//! tags, and its artifacts uploaded through the server's artifact proxy: the model in an MLflow
//! model directory (`model/MLmodel`), the fitted transforms and the manifest beside it, and
//! `mbt_run.json`, the run record serving reads back. Runs are found by MLflow's run id or by
//! MBT's (the `mbt.run_id` tag). A `sqlite:///FILE` URI is served by a local `mlflow server`
//! started in `setup` and stopped in `teardown` ([`server`]); without MLflow installed, runs go
//! to the embedded local registry with a warning.

mod params;
mod server;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use anyhow::Context;
use mbt_contract::adapters::{LocalRegistryConfig, MlflowConfig, RegistrySettings};
use serde_json::{json, Value};

use self::server::LocalServer;
use super::rest::{self, is_not_found, Auth, Rest, MLFLOW};
use super::{Adapter, BuildContext, ModelRegistry, RunFilter, RunRecord};
use crate::error::{coded, Code, Coded};

/// The run record serving reads back (the params, unflattened, and every artifact's name).
const RECORD: &str = "mbt_run.json";
/// Where the model's files go: an MLflow model directory.
const MODEL_DIR: &str = "model";
/// MBT's tags on an MLflow run.
const TAG_RUN_ID: &str = "mbt.run_id";
const TAG_PIPELINE: &str = "mbt.pipeline";

/// The `mlflow` registry of a target.
pub fn model_registry(
    settings: &RegistrySettings,
    context: &BuildContext<'_>,
) -> anyhow::Result<Box<dyn ModelRegistry>> {
    let RegistrySettings::Mlflow(config) = settings else {
        anyhow::bail!("the mlflow factory got {settings:?}");
    };
    let auth = auth(config, context)?;
    let uri = config.tracking_uri.as_str();
    let backend = if uri.starts_with("http://") || uri.starts_with("https://") {
        Backend::Server(Rest::new(&MLFLOW, uri, auth))
    } else if let Some(store) = server::sqlite_file(uri, context.project) {
        match server::find_mlflow(context.project) {
            Some(mlflow) => Backend::Local {
                mlflow,
                store,
                artifacts: context.project.join("mlartifacts"),
                server: Mutex::new(None),
                rest: OnceLock::new(),
            },
            None => {
                let settings = RegistrySettings::Local(LocalRegistryConfig::default());
                Backend::Fallback {
                    registry: super::local::model_registry(&settings, context)?,
                    warning: format!(
                        "model registry: MLflow is not installed, so the runs of `{uri}` go to \
                         the embedded local registry (`{}`); install MLflow (`pip install \
                         mlflow`) or set MBT_MLFLOW to its `mlflow` executable to record them \
                         in MLflow",
                        LocalRegistryConfig::default().base_path
                    ),
                }
            }
        }
    } else {
        return Err(coded(
            Code::AdapterFailed,
            format!("MLflow tracking URI `{uri}` is not one MBT can use"),
            "use `http(s)://HOST:PORT` or `sqlite:///FILE` (mbt check reports it as MBT2208)",
        ));
    };
    Ok(Box::new(Mlflow {
        backend,
        runs: Mutex::default(),
    }))
}

/// Credentials from the target's secrets: a bearer token, or basic authentication.
fn auth(config: &MlflowConfig, context: &BuildContext<'_>) -> anyhow::Result<Auth> {
    if let Some(token) = &config.token {
        return Ok(Auth::Bearer(context.secret(token)?));
    }
    match (&config.username, &config.password) {
        (Some(user), password) => Ok(Auth::Basic {
            user: user.clone(),
            password: match password {
                Some(password) => context.secret(password)?,
                None => String::new(),
            },
        }),
        (None, _) => Ok(Auth::None),
    }
}

enum Backend {
    /// A tracking server the target names.
    Server(Rest),
    /// A SQLite store, served by a local server for the run.
    Local {
        mlflow: PathBuf,
        store: PathBuf,
        artifacts: PathBuf,
        server: Mutex<Option<LocalServer>>,
        rest: OnceLock<Rest>,
    },
    /// MLflow is not installed: the embedded local registry.
    Fallback {
        registry: Box<dyn ModelRegistry>,
        warning: String,
    },
}

struct Mlflow {
    backend: Backend,
    /// What `runs/get` said per MLflow run id (serving asks for several artifacts of one run).
    runs: Mutex<BTreeMap<String, RunInfo>>,
}

/// An MLflow run's id, experiment and where its artifacts are proxied.
#[derive(Clone, Debug)]
struct RunInfo {
    run_id: String,
    /// `/<experiment>/<run>/artifacts` under `/api/2.0/mlflow-artifacts/artifacts`.
    artifact_path: String,
}

impl Adapter for Mlflow {
    fn setup(&self) -> anyhow::Result<()> {
        match &self.backend {
            // Nothing to open: a run that never asks the server (serving from an artifact
            // snapshot) runs while it is down; `mbt debug` checks it (`health`).
            Backend::Server(_) => Ok(()),
            Backend::Local {
                mlflow,
                store,
                artifacts,
                server,
                rest,
            } => {
                if let Some(parent) = store.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                let started = LocalServer::start(mlflow, store, artifacts)?;
                let _ = rest.set(Rest::new(&MLFLOW, &started.url, Auth::None));
                *server.lock().expect("server lock") = Some(started);
                Ok(())
            }
            Backend::Fallback { registry, .. } => registry.setup(),
        }
    }

    fn teardown(&self) -> anyhow::Result<()> {
        match &self.backend {
            Backend::Local { server, .. } => {
                if let Some(mut server) = server.lock().expect("server lock").take() {
                    server.stop();
                }
                Ok(())
            }
            Backend::Fallback { registry, .. } => registry.teardown(),
            Backend::Server(_) => Ok(()),
        }
    }

    fn warnings(&self) -> Vec<String> {
        match &self.backend {
            Backend::Fallback { warning, .. } => vec![warning.clone()],
            _ => Vec::new(),
        }
    }
}

/// `/health` answers, and so does the API (a search of experiments).
fn health(rest: &Rest) -> anyhow::Result<()> {
    rest.get_bytes("/health")?;
    rest.post_json(
        "/api/2.0/mlflow/experiments/search",
        &json!({"max_results": 1}),
    )
    .code(
        Code::ServiceRejected,
        format!("check the credentials for {}", rest.base()),
    )?;
    Ok(())
}

impl Mlflow {
    /// The REST client; `None` for the local fallback.
    fn rest(&self) -> anyhow::Result<&Rest> {
        match &self.backend {
            Backend::Server(rest) => Ok(rest),
            Backend::Local { rest, .. } => rest
                .get()
                .context("the local MLflow server was not started (setup did not run)"),
            Backend::Fallback { .. } => anyhow::bail!("no MLflow server in fallback mode"),
        }
    }

    fn fallback(&self) -> Option<&dyn ModelRegistry> {
        match &self.backend {
            Backend::Fallback { registry, .. } => Some(registry.as_ref()),
            _ => None,
        }
    }

    /// The experiment's id, created when it does not exist yet.
    fn experiment_id(&self, name: &str) -> anyhow::Result<String> {
        let rest = self.rest()?;
        let path = "/api/2.0/mlflow/experiments/get-by-name";
        match rest.get_json(path, &[("experiment_name", name)]) {
            Ok(found) => return string_at(&found, &["experiment", "experiment_id"]),
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(error),
        }
        match rest.post_json("/api/2.0/mlflow/experiments/create", &json!({"name": name})) {
            Ok(created) => string_at(&created, &["experiment_id"]),
            // Another run created it in between.
            Err(_) => string_at(
                &rest.get_json(path, &[("experiment_name", name)])?,
                &["experiment", "experiment_id"],
            ),
        }
    }

    /// A run by MLflow's run id, or by MBT's (`run_...`, the `mbt.run_id` tag).
    fn run_info(&self, run_id: &str) -> anyhow::Result<RunInfo> {
        if let Some(info) = self.runs.lock().expect("runs lock").get(run_id) {
            return Ok(info.clone());
        }
        let rest = self.rest()?;
        let found = match rest.get_json("/api/2.0/mlflow/runs/get", &[("run_id", run_id)]) {
            Ok(found) => Some(found["run"].clone()),
            Err(error) if is_not_found(&error) || run_id.starts_with("run_") => None,
            Err(error) => return Err(error),
        };
        let run = match found {
            Some(run) => run,
            None => self
                .search(&format!("tags.`{TAG_RUN_ID}` = '{}'", quote(run_id)))?
                .ok_or_else(|| {
                    coded(
                        Code::RunNotFound,
                        format!("run `{run_id}` not found in MLflow at {}", rest.base()),
                        "pass the MLflow run id `mbt run` printed for the training run, or \
                         `latest`",
                    )
                })?,
        };
        let info = run_info(&run, rest.base())?;
        self.runs
            .lock()
            .expect("runs lock")
            .insert(run_id.to_string(), info.clone());
        Ok(info)
    }

    /// The newest finished run matching `filter` in any experiment.
    fn search(&self, filter: &str) -> anyhow::Result<Option<Value>> {
        let rest = self.rest()?;
        let experiments = rest.post_json(
            "/api/2.0/mlflow/experiments/search",
            &json!({"max_results": 1000}),
        )?;
        let ids: Vec<Value> = experiments["experiments"]
            .as_array()
            .map(|list| list.iter().map(|e| e["experiment_id"].clone()).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            return Ok(None);
        }
        let found = rest.post_json(
            "/api/2.0/mlflow/runs/search",
            &json!({
                "experiment_ids": ids,
                "filter": format!("{filter} and attributes.status = 'FINISHED'"),
                "order_by": ["attributes.start_time DESC"],
                "max_results": 1,
            }),
        )?;
        Ok(found["runs"]
            .as_array()
            .and_then(|runs| runs.first())
            .cloned())
    }

    fn artifact_url(info: &RunInfo, path: &str) -> String {
        format!(
            "/api/2.0/mlflow-artifacts/artifacts{}/{path}",
            info.artifact_path
        )
    }
}

/// Where `name` goes in the run's artifacts: the model's files in the model directory.
fn artifact_path(name: &str) -> String {
    if name.starts_with("model.") {
        format!("{MODEL_DIR}/{name}")
    } else {
        name.to_string()
    }
}

fn run_info(run: &Value, base: &str) -> anyhow::Result<RunInfo> {
    let run_id = string_at(run, &["info", "run_id"])?;
    let uri = string_at(run, &["info", "artifact_uri"])?;
    let artifact_path = uri
        .strip_prefix("mlflow-artifacts:")
        .map(|rest| {
            // `mlflow-artifacts:/0/abc/artifacts` or `mlflow-artifacts://host:port/0/...`.
            match rest.strip_prefix("//") {
                Some(with_host) => with_host
                    .find('/')
                    .map_or(String::new(), |slash| with_host[slash..].to_string()),
                None => rest.to_string(),
            }
        })
        .ok_or_else(|| {
            coded(
                Code::ServiceRejected,
                format!(
                    "MLflow at {base} stores the artifacts of run {run_id} at `{uri}`, which \
                     MBT cannot reach through the server"
                ),
                "start the tracking server with its artifact proxy (`mlflow server \
                 --artifacts-destination DIR`, the default since MLflow 2)",
            )
        })?;
    Ok(RunInfo {
        run_id,
        artifact_path: artifact_path.trim_end_matches('/').to_string(),
    })
}

fn string_at(value: &Value, path: &[&str]) -> anyhow::Result<String> {
    let mut at = value;
    for key in path {
        at = &at[*key];
    }
    at.as_str().map(str::to_string).ok_or_else(|| {
        coded(
            Code::ServiceRejected,
            format!("MLflow's answer has no `{}`: {value}", path.join(".")),
            "check that `tracking_uri` points at an MLflow tracking server (MLflow 2 or 3)",
        )
    })
}

/// Whether MLflow refused to create something because it exists.
fn already_exists(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<rest::ApiError>()
        .is_some_and(|api| api.error_code == "RESOURCE_ALREADY_EXISTS")
}

/// A value inside a single-quoted MLflow filter string.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl ModelRegistry for Mlflow {
    fn health(&self) -> anyhow::Result<String> {
        match &self.backend {
            Backend::Fallback { warning, .. } => Ok(warning.clone()),
            _ => {
                health(&self.rest()?.once())?;
                Ok("/health and the REST API answer".into())
            }
        }
    }

    fn log_run(
        &self,
        record: &RunRecord,
        artifacts: &[(String, Vec<u8>)],
    ) -> anyhow::Result<RunRecord> {
        if let Some(registry) = self.fallback() {
            return registry.log_run(record, artifacts);
        }
        let rest = self.rest()?;
        let experiment = record
            .tags
            .get("experiment")
            .cloned()
            .unwrap_or_else(|| record.pipeline.clone());
        let experiment_id = self.experiment_id(&experiment)?;
        let mut tags = params::run_tags(record);
        tags.insert(TAG_RUN_ID.into(), record.run_id.clone());
        let created = rest.post_json(
            "/api/2.0/mlflow/runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": record.run_id,
                "start_time": now_ms(),
                "tags": params::key_values(&tags),
            }),
        )?;
        let info = run_info(&created["run"], rest.base())?;
        let mut logged = record.clone();
        logged.run_id = info.run_id.clone();
        logged.tags = tags;
        // MLflow refuses to change a logged param, so each is sent once, in batches.
        let flat = params::flatten(&record.params);
        for batch in params::batches(&flat, &record.metrics, now_ms()) {
            rest.post_json(
                "/api/2.0/mlflow/runs/log-batch",
                &json!({"run_id": info.run_id, "params": batch.params, "metrics": batch.metrics}),
            )?;
        }
        for (name, bytes) in artifacts {
            let path = artifact_path(name);
            rest.put_bytes(&Mlflow::artifact_url(&info, &path), bytes)
                .with_context(|| format!("cannot upload artifact `{path}`"))?;
            logged.artifacts.insert(
                name.clone(),
                format!("mlflow-artifacts:{}/{path}", info.artifact_path),
            );
        }
        let mlmodel = params::mlmodel(&logged, artifacts);
        rest.put_bytes(
            &Mlflow::artifact_url(&info, &format!("{MODEL_DIR}/MLmodel")),
            mlmodel.as_bytes(),
        )?;
        let text = serde_json::to_vec_pretty(&logged)?;
        rest.put_bytes(&Mlflow::artifact_url(&info, RECORD), &text)?;
        rest.post_json(
            "/api/2.0/mlflow/runs/update",
            &json!({"run_id": info.run_id, "status": "FINISHED", "end_time": now_ms()}),
        )?;
        self.runs
            .lock()
            .expect("runs lock")
            .insert(info.run_id.clone(), info);
        Ok(logged)
    }

    fn load_run(&self, run_id: &str) -> anyhow::Result<RunRecord> {
        if let Some(registry) = self.fallback() {
            return registry.load_run(run_id);
        }
        let info = self.run_info(run_id)?;
        let bytes = self
            .rest()?
            .get_bytes(&Mlflow::artifact_url(&info, RECORD))
            .map_err(|error| {
                if is_not_found(&error) {
                    coded(
                        Code::RunNotFound,
                        format!(
                            "MLflow run `{}` was not recorded by MBT (it has no {RECORD})",
                            info.run_id
                        ),
                        "serve a run that `mbt run` trained and logged",
                    )
                } else {
                    error
                }
            })?;
        serde_json::from_slice(&bytes)
            .with_context(|| {
                format!(
                    "{RECORD} of MLflow run `{}` is not a run record",
                    info.run_id
                )
            })
            .code(Code::RunNotFound, "the run is incomplete: train it again")
    }

    fn latest_run(&self, filter: RunFilter<'_>) -> anyhow::Result<RunRecord> {
        if let Some(registry) = self.fallback() {
            return registry.latest_run(filter);
        }
        let condition = match filter {
            RunFilter::Pipeline(name) => format!("tags.`{TAG_PIPELINE}` = '{}'", quote(name)),
            RunFilter::Experiment(name) => format!("tags.`experiment` = '{}'", quote(name)),
            RunFilter::Any => format!("tags.`{TAG_RUN_ID}` LIKE 'run_%'"),
        };
        let run = self.search(&condition)?.ok_or_else(|| {
            let first = match filter {
                RunFilter::Pipeline(name) => format!("run `mbt run {name}` first"),
                _ => "run the training pipeline first".to_string(),
            };
            coded(
                Code::RunNotFound,
                format!(
                    "`run_id: latest` found no finished run {filter} in MLflow at {}",
                    self.rest().map_or("?", Rest::base)
                ),
                format!("{first}, or pin a run with `--vars run_id=RUN_ID`"),
            )
        })?;
        self.load_run(&string_at(&run, &["info", "run_id"])?)
    }

    /// A registered model (created on first use) gets a version whose source is the run's
    /// model directory; the alias moves to it.
    fn register_model(
        &self,
        record: &RunRecord,
        name: &str,
        alias: Option<&str>,
    ) -> anyhow::Result<String> {
        if let Some(registry) = self.fallback() {
            return registry.register_model(record, name, alias);
        }
        let rest = self.rest()?;
        let info = self.run_info(&record.run_id)?;
        match rest.post_json(
            "/api/2.0/mlflow/registered-models/create",
            &json!({"name": name}),
        ) {
            Ok(_) => {}
            Err(error) if already_exists(&error) => {}
            Err(error) => return Err(error),
        }
        let created = rest.post_json(
            "/api/2.0/mlflow/model-versions/create",
            &json!({
                "name": name,
                "source": format!("mlflow-artifacts:{}/{MODEL_DIR}", info.artifact_path),
                "run_id": info.run_id,
            }),
        )?;
        let version = string_at(&created, &["model_version", "version"])?;
        if let Some(alias) = alias {
            rest.post_json(
                "/api/2.0/mlflow/registered-models/alias",
                &json!({"name": name, "alias": alias, "version": version}),
            )?;
        }
        Ok(version)
    }

    fn resolve_alias(&self, name: &str, alias: &str) -> anyhow::Result<String> {
        if let Some(registry) = self.fallback() {
            return registry.resolve_alias(name, alias);
        }
        let rest = self.rest()?;
        let found = rest
            .get_json(
                "/api/2.0/mlflow/registered-models/alias",
                &[("name", name), ("alias", alias)],
            )
            .map_err(|error| {
                if is_not_found(&error) {
                    coded(
                        Code::RunNotFound,
                        format!(
                            "MLflow at {} has no model `{name}` with alias `{alias}`",
                            rest.base()
                        ),
                        format!(
                            "train a pipeline whose `registration` is `{{registered_model_name: \
                             {name}, alias: {alias}}}` first, or load a run by `run_id`"
                        ),
                    )
                } else {
                    error
                }
            })?;
        string_at(&found, &["model_version", "run_id"])
    }

    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
        if let Some(registry) = self.fallback() {
            return registry.load_artifact(run_id, name);
        }
        let info = self.run_info(run_id)?;
        self.rest()?
            .get_bytes(&Mlflow::artifact_url(&info, &artifact_path(name)))
            .map_err(|error| {
                if is_not_found(&error) {
                    coded(
                        Code::RunNotFound,
                        format!("MLflow run `{}` has no artifact `{name}`", info.run_id),
                        "the run is incomplete: train it again",
                    )
                } else {
                    error
                }
            })
    }
}
