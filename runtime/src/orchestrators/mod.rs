//! Orchestrators: what turns compiled manifests into another scheduler's jobs, found by name
//! like every other adapter (`mbt generate-dags --orchestrator NAME`). Each task of a generated
//! job runs one step with `mbt exec --manifest M --step S --run-id R`, reading its inputs from
//! the target's storage where the step before left them.

mod airflow;

use std::path::{Path, PathBuf};

use mbt_contract::manifest::Manifest;

use crate::error::{coded, Code};

/// What a generated job needs besides its manifest.
pub struct Generation<'a> {
    /// The `mbt` executable the tasks run.
    pub mbt: &'a Path,
    /// The project folder (`--project-dir` of each task).
    pub project: &'a Path,
    /// Where the pinned manifest of the pipeline is (what `--manifest` names).
    pub manifest_path: &'a Path,
    /// Retries of a failed task.
    pub retries: u32,
}

/// Writes a manifest's job for one scheduler.
pub trait Orchestrator {
    /// The job's file name for `manifest`.
    fn file_name(&self, manifest: &Manifest) -> String;
    /// The job's source text.
    fn generate(&self, manifest: &Manifest, generation: &Generation<'_>) -> String;
}

/// Builds an orchestrator.
type Build = fn() -> Box<dyn Orchestrator>;

/// The orchestrators this build generates jobs for, by name.
const ORCHESTRATORS: &[(&str, Build)] = &[("airflow", || Box::new(airflow::Airflow))];

/// The orchestrator `name`.
pub fn orchestrator(name: &str) -> anyhow::Result<Box<dyn Orchestrator>> {
    match ORCHESTRATORS.iter().find(|(known, _)| *known == name) {
        Some((_, build)) => Ok(build()),
        None => {
            let names: Vec<&str> = ORCHESTRATORS.iter().map(|(known, _)| *known).collect();
            Err(coded(
                Code::AdapterNotAvailable,
                format!("orchestrator `{name}` is not available in this build"),
                format!("available: {}", names.join(", ")),
            ))
        }
    }
}

/// Where the generated files go: `<output>/<file>` and `<output>/manifests/<pipeline>.json`.
pub fn manifest_path(output: &Path, manifest: &Manifest) -> PathBuf {
    output
        .join("manifests")
        .join(format!("{}.json", manifest.metadata.pipeline_name))
}
