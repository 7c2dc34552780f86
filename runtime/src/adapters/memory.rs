//! In-memory adapters: storage, tables, a run registry and an output writer that keep
//! everything in this process. They let a test (or an embedding) run steps and whole manifests
//! without touching the disk, and inject failures where a real adapter would fail. Each is a
//! cheap handle (`Clone` shares the contents), so a test keeps one to look inside after a run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use polars::prelude::DataFrame;

use super::{
    Adapter, DataConnector, ModelRegistry, OutputWriter, RunFilter, RunRecord, SecretsProvider,
    Storage, TableRequest,
};
use crate::error::{coded, Code};

/// A failure to inject: the named operation fails with `message` (coded as a storage failure).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Artifact names whose `put` fails.
    pub failing_puts: Vec<String>,
}

/// Artifacts in a map, URIs `memory://run/step/name`.
#[derive(Clone, Default)]
pub struct MemoryStorage {
    pub artifacts: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    pub faults: Faults,
}

impl MemoryStorage {
    /// The names of the stored artifacts (`run/step/name`), sorted.
    pub fn names(&self) -> Vec<String> {
        self.artifacts
            .lock()
            .expect("storage lock")
            .keys()
            .map(|uri| uri.trim_start_matches("memory://").to_string())
            .collect()
    }
}

impl Adapter for MemoryStorage {}

impl Storage for MemoryStorage {
    fn uri(&self, run_id: &str, step: &str, name: &str) -> String {
        format!("memory://{run_id}/{step}/{name}")
    }

    fn put(&self, run_id: &str, step: &str, name: &str, data: &[u8]) -> anyhow::Result<String> {
        if self
            .faults
            .failing_puts
            .iter()
            .any(|failing| failing == name)
        {
            return Err(coded(
                Code::StorageFailed,
                format!("cannot write {name}: injected failure"),
                "the storage refused the write",
            ));
        }
        let uri = self.uri(run_id, step, name);
        self.artifacts
            .lock()
            .expect("storage lock")
            .insert(uri.clone(), data.to_vec());
        Ok(uri)
    }

    fn get(&self, uri: &str) -> anyhow::Result<Vec<u8>> {
        self.artifacts
            .lock()
            .expect("storage lock")
            .get(uri)
            .cloned()
            .with_context(|| format!("no artifact {uri}"))
    }

    fn exists(&self, uri: &str) -> bool {
        self.artifacts
            .lock()
            .expect("storage lock")
            .contains_key(uri)
    }
}

/// Tables given as frames.
#[derive(Clone, Default)]
pub struct MemoryTables {
    pub tables: Arc<BTreeMap<String, DataFrame>>,
}

impl MemoryTables {
    pub fn new(tables: impl IntoIterator<Item = (String, DataFrame)>) -> MemoryTables {
        MemoryTables {
            tables: Arc::new(tables.into_iter().collect()),
        }
    }
}

impl Adapter for MemoryTables {}

impl DataConnector for MemoryTables {
    fn read(&self, request: &TableRequest<'_>) -> anyhow::Result<DataFrame> {
        let mut frame = self.tables.get(request.table).cloned().ok_or_else(|| {
            coded(
                Code::TableNotFound,
                format!("table `{}` not found", request.table),
                "add the table",
            )
        })?;
        if let Some((key, range)) = request.date_range {
            let dates = crate::windows::partition_dates(&frame, key)?;
            let keep: polars::prelude::BooleanChunked = dates
                .iter()
                .map(|date| Some(date.is_some_and(|d| range.contains(d))))
                .collect();
            frame = frame.filter(&keep)?;
        }
        if let Some(columns) = request.columns {
            frame = frame.select(columns.iter().map(String::as_str))?;
        }
        Ok(frame)
    }
}

/// A recorded run and its artifacts by name.
pub type RecordedRun = (RunRecord, BTreeMap<String, Vec<u8>>);

/// Runs and their artifacts in maps.
#[derive(Clone, Default)]
pub struct MemoryRegistry {
    pub runs: Arc<Mutex<BTreeMap<String, RecordedRun>>>,
}

impl Adapter for MemoryRegistry {}

impl ModelRegistry for MemoryRegistry {
    fn log_run(
        &self,
        record: &RunRecord,
        artifacts: &[(String, Vec<u8>)],
    ) -> anyhow::Result<RunRecord> {
        let mut record = record.clone();
        for (name, _) in artifacts {
            record.artifacts.insert(
                name.clone(),
                format!("memory://registry/{}/{name}", record.run_id),
            );
        }
        self.runs.lock().expect("registry lock").insert(
            record.run_id.clone(),
            (record.clone(), artifacts.iter().cloned().collect()),
        );
        Ok(record)
    }

    fn load_run(&self, run_id: &str) -> anyhow::Result<RunRecord> {
        self.runs
            .lock()
            .expect("registry lock")
            .get(run_id)
            .map(|(record, _)| record.clone())
            .ok_or_else(|| {
                coded(
                    Code::RunNotFound,
                    format!("run `{run_id}` not found"),
                    "train it first",
                )
            })
    }

    fn latest_run(&self, filter: RunFilter<'_>) -> anyhow::Result<RunRecord> {
        let runs = self.runs.lock().expect("registry lock");
        super::latest(
            runs.values().map(|(record, _)| record),
            filter,
            "the in-memory registry",
        )
        .cloned()
    }

    fn load_artifact(&self, run_id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
        self.runs
            .lock()
            .expect("registry lock")
            .get(run_id)
            .and_then(|(_, artifacts)| artifacts.get(name).cloned())
            .ok_or_else(|| {
                coded(
                    Code::RunNotFound,
                    format!("run `{run_id}` has no artifact `{name}`"),
                    "train it again",
                )
            })
    }
}

/// Published tables by name.
#[derive(Clone, Default)]
pub struct MemoryWriter {
    pub tables: Arc<Mutex<BTreeMap<String, DataFrame>>>,
}

impl Adapter for MemoryWriter {}

impl OutputWriter for MemoryWriter {
    fn write(&self, table: &str, frame: &DataFrame, _run_id: &str) -> anyhow::Result<String> {
        self.tables
            .lock()
            .expect("writer lock")
            .insert(table.to_string(), frame.clone());
        Ok(format!("memory://{table}"))
    }
}

/// Secrets from a map.
#[derive(Default)]
pub struct MemorySecrets {
    pub values: BTreeMap<String, String>,
}

impl SecretsProvider for MemorySecrets {
    fn get_secret(&self, name: &str) -> anyhow::Result<String> {
        self.values
            .get(name)
            .cloned()
            .with_context(|| format!("secret `{name}` is not set"))
    }
}
