//! The runner: executes a manifest's steps in order, stores every output, and keeps
//! `run_results.json` up to date after each step so a failure leaves an accurate record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use indexmap::IndexMap;
use mbt_compiler::manifest::Manifest;
use serde::{Deserialize, Serialize};

use crate::adapters::local::write_atomic;
use crate::adapters::Registry;
use crate::frame;
use crate::steps::{self, Artifact, StepContext};

/// `target/<pipeline>/run_results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    pub run_id: String,
    pub pipeline: String,
    pub target: String,
    /// `running`, `success` or `failed`.
    pub status: String,
    pub started: String,
    pub finished: Option<String>,
    pub steps: IndexMap<String, StepResult>,
    /// The evaluation metrics.
    pub metrics: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// `success`, `failed` or `skipped`.
    pub status: String,
    pub duration_s: f64,
    /// Output name → storage URI.
    pub outputs: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

/// Reports progress as steps start and finish.
pub trait Progress {
    fn step_started(&mut self, index: usize, total: usize, step: &str);
    fn step_finished(&mut self, step: &str, result: &StepResult);
}

pub struct RunOptions<'a> {
    pub project: &'a Path,
    pub run_id: String,
    /// Where run_results.json is written.
    pub results_path: PathBuf,
    /// A failed run to resume (`mbt retry`): its idempotent steps whose outputs still exist are
    /// skipped and their outputs reloaded.
    pub resume: Option<&'a RunResults>,
}

/// Runs every step. Step failures are recorded in the results (status `failed`); `Err` is
/// returned only when the run could not start (an adapter is missing).
pub fn run(
    manifest: &Manifest,
    options: &RunOptions<'_>,
    progress: &mut dyn Progress,
) -> anyhow::Result<RunResults> {
    let registry = Registry::builtin();
    let settings = &manifest.profile.config;
    let storage = registry.storage(&settings["storage"], options.project)?;
    let connector = registry.connector(&settings["data_connector"], options.project)?;
    let model_registry = registry.model_registry(&settings["model_registry"], options.project)?;
    let mut results = RunResults {
        run_id: options.run_id.clone(),
        pipeline: manifest.metadata.pipeline_name.clone(),
        target: manifest.metadata.target.clone(),
        status: "running".into(),
        started: options
            .resume
            .map_or_else(timestamp, |previous| previous.started.clone()),
        finished: None,
        steps: IndexMap::new(),
        metrics: BTreeMap::new(),
    };
    write_results(&options.results_path, &results)?;
    let mut artifacts: BTreeMap<String, Artifact> = BTreeMap::new();
    let total = manifest.dag.execution_order.len();
    for (index, name) in manifest.dag.execution_order.iter().enumerate() {
        let step = &manifest.steps[name];
        progress.step_started(index, total, name);
        if let Some(previous) = reusable(options.resume, name, step, storage.as_ref()) {
            for (output, uri) in &previous.outputs {
                let bytes = storage.get(uri)?;
                let artifact = if uri.ends_with(".parquet") {
                    Artifact::Frame(frame::from_parquet(bytes)?)
                } else {
                    Artifact::Json(
                        serde_json::from_slice(&bytes)
                            .with_context(|| format!("{uri} is not JSON"))?,
                    )
                };
                artifacts.insert(output.clone(), artifact);
            }
            let skipped = StepResult {
                status: "skipped".into(),
                duration_s: 0.0,
                ..previous.clone()
            };
            progress.step_finished(name, &skipped);
            if name == "evaluate" {
                results.metrics = previous.metrics.clone();
            }
            results.steps.insert(name.clone(), skipped);
            continue;
        }
        let started = Instant::now();
        let mut warnings = Vec::new();
        let mut metrics = BTreeMap::new();
        // log_run records every fitted artifact produced so far, so it sees all of them.
        let inputs: BTreeMap<String, Artifact> = artifacts
            .iter()
            .filter(|(artifact, _)| step.inputs.contains(artifact))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut context = StepContext {
            manifest,
            name,
            step,
            registry: &registry,
            project: options.project,
            connector: connector.as_ref(),
            model_registry: model_registry.as_ref(),
            run_id: &options.run_id,
            inputs: &inputs,
            warnings: &mut warnings,
            metrics: &mut metrics,
        };
        let outcome = steps::run(&mut context).and_then(|outputs| {
            let mut uris = BTreeMap::new();
            for (output, artifact) in step.outputs.iter().zip(outputs) {
                let bytes = match &artifact {
                    Artifact::Frame(frame) => frame::to_parquet(frame)?,
                    Artifact::Json(value) => serde_json::to_vec_pretty(value)?,
                };
                let file = format!("{output}.{}", artifact.extension());
                uris.insert(
                    output.clone(),
                    storage.put(&options.run_id, name, &file, &bytes)?,
                );
                artifacts.insert(output.clone(), artifact);
            }
            Ok(uris)
        });
        let result = StepResult {
            status: if outcome.is_ok() {
                "success".into()
            } else {
                "failed".into()
            },
            duration_s: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            outputs: outcome.as_ref().cloned().unwrap_or_default(),
            metrics,
            warnings,
            error: outcome.as_ref().err().map(|error| format!("{error:#}")),
        };
        progress.step_finished(name, &result);
        if name == "evaluate" {
            results.metrics = result.metrics.clone();
        }
        let failed = result.error.is_some();
        results.steps.insert(name.clone(), result);
        if failed {
            results.status = "failed".into();
            results.finished = Some(timestamp());
            write_results(&options.results_path, &results)?;
            return Ok(results);
        }
        write_results(&options.results_path, &results)?;
    }
    results.status = "success".into();
    results.finished = Some(timestamp());
    write_results(&options.results_path, &results)?;
    Ok(results)
}

/// The previous result of `name` when it can be reused: the step is idempotent, succeeded (or
/// was itself reused) and every output still exists.
fn reusable<'a>(
    resume: Option<&'a RunResults>,
    name: &str,
    step: &mbt_compiler::manifest::Step,
    storage: &dyn crate::adapters::Storage,
) -> Option<&'a StepResult> {
    let previous = resume?.steps.get(name)?;
    let done = previous.status == "success" || previous.status == "skipped";
    let complete = previous.outputs.len() == step.outputs.len()
        && previous.outputs.values().all(|uri| storage.exists(uri));
    (step.idempotent && done && complete).then_some(previous)
}

fn write_results(path: &Path, results: &RunResults) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(results)? + "\n";
    write_atomic(path, text.as_bytes()).context("cannot write run_results.json")
}

/// A new run id: UTC time plus process id, unique per machine and sortable.
pub fn new_run_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (date, time) = civil(now.as_secs());
    format!(
        "run_{}{}_{:04x}{:03}",
        date.replace('-', ""),
        time.replace(':', ""),
        std::process::id() & 0xffff,
        now.subsec_millis()
    )
}

/// RFC 3339 UTC timestamp.
pub fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (date, time) = civil(now.as_secs());
    format!("{date}T{time}.{:03}Z", now.subsec_millis())
}

/// (YYYY-MM-DD, HH:MM:SS) of Unix seconds (proleptic Gregorian, Howard Hinnant's algorithm).
fn civil(seconds: u64) -> (String, String) {
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil(0), ("1970-01-01".into(), "00:00:00".into()));
        assert_eq!(
            super::civil(1_772_323_200),
            ("2026-03-01".into(), "00:00:00".into())
        );
    }
}
