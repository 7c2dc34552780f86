//! Adapter contracts and the one registry that finds them by name.
//!
//! Every adapter kind of the manifest (`framework`, `storage`, `data_connector`,
//! `model_registry`, `secrets`, `output_writer`, `executor`) is a trait here; built-in implementations register under the
//! names the profiles and pipelines use. Steps ask the registry by name and never name an
//! implementation, so adding an adapter touches no step code.

mod gbm;
pub mod local;
mod smartcore;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::features::{Columns, Matrix};

/// Produces an artifact's bytes into a writer (a large frame is encoded straight to storage).
pub type Writing<'a> = dyn FnMut(&mut dyn std::io::Write) -> anyhow::Result<()> + 'a;

/// Where artifacts live: `put` returns a URI that `get` and `exists` accept.
pub trait Storage: Send + Sync {
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
pub trait DataConnector: Send + Sync {
    fn read(&self, request: &TableRequest<'_>) -> anyhow::Result<DataFrame>;

    /// Every column and row of `table`.
    fn read_table(&self, table: &str) -> anyhow::Result<DataFrame> {
        self.read(&TableRequest::table(table))
    }
}

/// What a training run leaves behind in a model registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
}

/// Records runs and hands their artifacts back by run id.
pub trait ModelRegistry: Send + Sync {
    fn log_run(
        &self,
        record: &RunRecord,
        artifacts: &[(String, Vec<u8>)],
    ) -> anyhow::Result<RunRecord>;
    fn load_run(&self, run_id: &str) -> anyhow::Result<RunRecord>;
    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>>;
}

/// Writes published tables (serving's predictions); returns where the table went.
pub trait OutputWriter: Send + Sync {
    fn write(&self, table: &str, frame: &DataFrame) -> anyhow::Result<String>;
}

/// One unit of work of an execution batch, and what it returns.
pub type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs the independent steps of one execution batch. Results come back in job order.
pub trait Executor: Send + Sync {
    fn run_batch<'a>(
        &self,
        jobs: Vec<Job<'a, crate::run::StepOutcome>>,
    ) -> Vec<crate::run::StepOutcome>;
}

/// Resolves `{{ secret('NAME') }}` references at run time.
pub trait SecretsProvider: Send + Sync {
    fn get_secret(&self, name: &str) -> anyhow::Result<String>;
}

/// A trained model in its framework's serialized form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SerializedModel {
    pub framework: String,
    /// Bumped when the framework's serialized form changes incompatibly.
    pub format_version: u32,
    pub payload: String,
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

/// A training framework. `train_model` calls `health_check`, `validate_config`, `setup`,
/// `train` and `teardown`, in that order; frameworks backed by a server (H2O) use the
/// lifecycle methods, in-process ones keep the defaults.
pub trait Framework: Send + Sync {
    /// Refuses a config this framework cannot train with (the compiler checks the schema; this
    /// catches what only the framework knows, for manifests from any source).
    fn validate_config(&self, _config: &Value, _task: Task) -> anyhow::Result<()> {
        Ok(())
    }

    fn setup(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn teardown(&self) -> anyhow::Result<()> {
        Ok(())
    }

    fn health_check(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Trains on the feature columns `x` (read one at a time; [`Matrix::gather`] builds the
    /// whole matrix for a framework that needs it) with labels `y`.
    fn train(
        &self,
        x: &dyn Columns,
        y: &[f64],
        task: Task,
        config: &Value,
    ) -> anyhow::Result<SerializedModel>;
    /// Positive-class probabilities (binary), predictions (regression), or for multiclass
    /// every class's probability, row-major (`rows * classes` values, each row summing to 1).
    fn predict(&self, model: &SerializedModel, x: &Matrix) -> anyhow::Result<Vec<f64>>;
    /// Importance per column, summing to 1.
    fn feature_importance(
        &self,
        model: &SerializedModel,
        columns: usize,
    ) -> anyhow::Result<Vec<f64>>;
}

type Factory<T> = fn(config: &Value, project: &Path) -> anyhow::Result<Box<T>>;

/// Every adapter by kind and name.
pub struct Registry {
    frameworks: BTreeMap<&'static str, Box<dyn Framework>>,
    storages: BTreeMap<&'static str, Factory<dyn Storage>>,
    connectors: BTreeMap<&'static str, Factory<dyn DataConnector>>,
    registries: BTreeMap<&'static str, Factory<dyn ModelRegistry>>,
    secrets: BTreeMap<&'static str, Factory<dyn SecretsProvider>>,
    writers: BTreeMap<&'static str, Factory<dyn OutputWriter>>,
    executors: BTreeMap<&'static str, Factory<dyn Executor>>,
}

impl Registry {
    /// The adapters built into MBT.
    pub fn builtin() -> Registry {
        let mut registry = Registry {
            frameworks: BTreeMap::new(),
            storages: BTreeMap::new(),
            connectors: BTreeMap::new(),
            registries: BTreeMap::new(),
            secrets: BTreeMap::new(),
            writers: BTreeMap::new(),
            executors: BTreeMap::new(),
        };
        registry.frameworks.insert("gbm", Box::new(gbm::Gbm));
        registry
            .frameworks
            .insert("smartcore", Box::new(smartcore::Smartcore));
        registry.storages.insert("local", local::storage);
        registry.connectors.insert("local_file", local::connector);
        registry.registries.insert("local", local::model_registry);
        registry.secrets.insert("env", local::secrets);
        registry.writers.insert("local_file", local::output_writer);
        registry.executors.insert("local", local::executor);
        registry
    }

    pub fn framework(&self, name: &str) -> anyhow::Result<&dyn Framework> {
        match self.frameworks.get(name) {
            Some(framework) => Ok(framework.as_ref()),
            None => bail!(unknown("framework", name, self.frameworks.keys())),
        }
    }

    pub fn storage(&self, settings: &Value, project: &Path) -> anyhow::Result<Box<dyn Storage>> {
        build(&self.storages, "storage", settings, project)
    }

    pub fn connector(
        &self,
        settings: &Value,
        project: &Path,
    ) -> anyhow::Result<Box<dyn DataConnector>> {
        build(&self.connectors, "data_connector", settings, project)
    }

    pub fn model_registry(
        &self,
        settings: &Value,
        project: &Path,
    ) -> anyhow::Result<Box<dyn ModelRegistry>> {
        build(&self.registries, "model_registry", settings, project)
    }

    pub fn output_writer(
        &self,
        settings: &Value,
        project: &Path,
    ) -> anyhow::Result<Box<dyn OutputWriter>> {
        build(&self.writers, "output_writer", settings, project)
    }

    /// The executor of `settings` (the target's `executor`); `local` when none is set.
    pub fn executor(&self, settings: &Value, project: &Path) -> anyhow::Result<Box<dyn Executor>> {
        if settings.get("type").is_none() {
            return local::executor(&Value::Null, project);
        }
        build(&self.executors, "executor", settings, project)
    }

    pub fn secrets(
        &self,
        settings: &Value,
        project: &Path,
    ) -> anyhow::Result<Box<dyn SecretsProvider>> {
        let name = settings
            .get("provider")
            .and_then(Value::as_str)
            .unwrap_or("env");
        match self.secrets.get(name) {
            Some(factory) => factory(settings.get("config").unwrap_or(&Value::Null), project),
            None => bail!(unknown("secrets", name, self.secrets.keys())),
        }
    }

    /// Installed adapters by kind, for `mbt deps list`.
    pub fn list(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            ("frameworks", self.frameworks.keys().copied().collect()),
            ("storage", self.storages.keys().copied().collect()),
            ("data_connectors", self.connectors.keys().copied().collect()),
            (
                "model_registries",
                self.registries.keys().copied().collect(),
            ),
            ("secrets", self.secrets.keys().copied().collect()),
            ("output_writers", self.writers.keys().copied().collect()),
            ("executors", self.executors.keys().copied().collect()),
        ]
    }
}

/// `settings` with every `{{ secret('NAME') }}` reference replaced by its value. The result is
/// handed to adapter factories only: it is never stored, logged or recorded.
pub fn resolve_secrets(settings: &Value, secrets: &dyn SecretsProvider) -> anyhow::Result<Value> {
    Ok(match settings {
        Value::String(text) => match secret_reference(text) {
            Some(name) => Value::String(secrets.get_secret(name)?),
            None => settings.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_secrets(item, secrets))
                .collect::<anyhow::Result<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| Ok((key.clone(), resolve_secrets(value, secrets)?)))
                .collect::<anyhow::Result<_>>()?,
        ),
        other => other.clone(),
    })
}

/// `NAME` of a scalar that is exactly `{{ secret('NAME') }}` (how the compiler leaves them).
fn secret_reference(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let name = inner.strip_prefix("secret(")?.strip_suffix(')')?.trim();
    name.strip_prefix('\'')
        .and_then(|n| n.strip_suffix('\''))
        .or_else(|| name.strip_prefix('"').and_then(|n| n.strip_suffix('"')))
}

fn build<T: ?Sized>(
    factories: &BTreeMap<&'static str, Factory<T>>,
    kind: &str,
    settings: &Value,
    project: &Path,
) -> anyhow::Result<Box<T>> {
    let name = settings
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match factories.get(name) {
        Some(factory) => factory(settings.get("config").unwrap_or(&Value::Null), project),
        None => bail!(unknown(kind, name, factories.keys())),
    }
}

fn unknown<'a>(
    kind: &str,
    name: &str,
    available: impl Iterator<Item = &'a &'static str>,
) -> String {
    let available: Vec<&str> = available.copied().collect();
    format!(
        "no {kind} adapter named `{name}` is installed (available: {})",
        available.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixed;

    impl SecretsProvider for Fixed {
        fn get_secret(&self, name: &str) -> anyhow::Result<String> {
            match name {
                "TOKEN" => Ok("t0k3n".into()),
                other => anyhow::bail!("secret `{other}` is not set"),
            }
        }
    }

    #[test]
    fn secret_references_are_resolved_anywhere_in_a_config() {
        let config =
            json!({"a": "{{ secret('TOKEN') }}", "b": ["{{secret(\"TOKEN\")}}", "plain"], "c": 1});
        assert_eq!(
            resolve_secrets(&config, &Fixed).unwrap(),
            json!({"a": "t0k3n", "b": ["t0k3n", "plain"], "c": 1})
        );
        let missing = json!({"a": "{{ secret('NOPE') }}"});
        assert!(resolve_secrets(&missing, &Fixed).is_err());
        assert_eq!(secret_reference("prefix {{ secret('TOKEN') }}"), None);
    }

    #[test]
    fn unknown_adapters_list_what_is_installed() {
        let registry = Registry::builtin();
        let error = registry
            .executor(&json!({"type": "kubernetes"}), Path::new("."))
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "no executor adapter named `kubernetes` is installed (available: local)"
        );
    }
}
