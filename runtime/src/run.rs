//! The runner: executes a manifest's steps batch by batch on the run's adapters, stores every
//! output, and keeps `run_results.json` up to date after each batch so a failure leaves an
//! accurate record. The adapters are given ([`run`] takes them built), so tests run manifests
//! on in-memory adapters; the runner sets them up once per run and tears them down at its end.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use indexmap::IndexMap;
use mbt_contract::fs::write_atomic;
use mbt_contract::manifest::{Manifest, Step};
use serde::{Deserialize, Serialize};

use crate::adapters::monitoring::{Emission, Sample, Scope};
use crate::adapters::{Adapters, Job, Storage};
use crate::clock::timestamp;
use crate::error::{code_of, coded, Code};
use crate::frame;
use crate::steps::{self, Artifact, ModelArtifact, StepContext};

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
    /// The execution date the time windows used (given or derived from the data).
    #[serde(default)]
    pub execution_date: Option<String>,
    pub steps: IndexMap<String, StepResult>,
    /// The evaluation metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Problems around the run that failed no step (an adapter that did not tear down).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The model registry's own id of the run when it has one (MLflow's run id), from
    /// `log_run`; serving takes it as well as `run_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_run_id: Option<String>,
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
    /// The error's diagnostic code (`MBT4xxx`; `mbt explain CODE`) and how to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The rows of the tables the step read and wrote (absent: it read or wrote none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_in: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_out: Option<usize>,
}

impl StepResult {
    /// Marks the step failed with `error`: its message, and its code and help (MBT9002, an
    /// internal error, when it carries no code).
    fn fail(&mut self, error: &anyhow::Error) {
        let coded = code_of(error);
        self.status = "failed".into();
        self.error = Some(format!("{error:#}"));
        self.code = Some(
            coded
                .map_or(Code::InternalRuntimeError, |(code, _)| code)
                .as_str()
                .to_string(),
        );
        self.help = coded
            .map(|(_, help)| help.to_string())
            .filter(|help| !help.is_empty());
    }
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
    /// `--vars execution_date=YYYY-MM-DD`, for time windows.
    pub execution_date: Option<chrono::NaiveDate>,
}

/// What running one step gives: its result and the artifacts it produced.
pub type StepOutcome = (StepResult, Vec<(String, Artifact)>);

/// One run's manifest, options and adapters, shared by every step (and by the threads of a
/// parallel batch).
struct Runner<'a> {
    manifest: &'a Manifest,
    options: &'a RunOptions<'a>,
    adapters: &'a Adapters,
}

impl<'a> Runner<'a> {
    fn storage(&self) -> &dyn Storage {
        self.adapters.storage.as_ref()
    }

    /// The artifacts step `name` reads.
    fn inputs_of(
        &self,
        name: &str,
        artifacts: &BTreeMap<String, Artifact>,
    ) -> BTreeMap<String, Artifact> {
        let step = &self.manifest.steps[name];
        artifacts
            .iter()
            .filter(|(artifact, _)| step.inputs.contains(artifact))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Runs step `name` on its `inputs` and stores its outputs. The inputs are dropped before
    /// the outputs are stored: for an input no later step reads, that frees it early.
    fn execute(&self, name: &str, inputs: BTreeMap<String, Artifact>) -> StepOutcome {
        let step = &self.manifest.steps[name];
        let started = Instant::now();
        let mut warnings = Vec::new();
        let mut metrics = BTreeMap::new();
        let mut files = Vec::new();
        let mut context = StepContext {
            manifest: self.manifest,
            name,
            step,
            adapters: self.adapters,
            project: self.options.project,
            run_id: &self.options.run_id,
            execution_date: self.options.execution_date,
            inputs: &inputs,
            warnings: &mut warnings,
            metrics: &mut metrics,
            files: &mut files,
        };
        let mut produced = Vec::new();
        let outputs = steps::run(&mut context);
        let rows_in = rows(inputs.values());
        drop(inputs);
        // Outputs are written by `store` (on a background thread during `run`); their URIs are
        // known now. Extra files (plots) are small and written here.
        let outcome = outputs.and_then(|outputs| {
            let mut uris = BTreeMap::new();
            for (output, artifact) in step.outputs.iter().zip(outputs) {
                let file = format!("{output}.{}", artifact.extension());
                uris.insert(
                    output.clone(),
                    self.storage().uri(&self.options.run_id, name, &file),
                );
                produced.push((output.clone(), artifact));
            }
            for (file, bytes) in &files {
                let uri = self
                    .storage()
                    .put(&self.options.run_id, name, file, bytes)?;
                uris.insert(file.clone(), uri);
            }
            Ok(uris)
        });
        let mut result = StepResult {
            status: "success".into(),
            duration_s: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            outputs: BTreeMap::new(),
            metrics,
            warnings,
            error: None,
            code: None,
            help: None,
            rows_in,
            rows_out: rows(produced.iter().map(|(_, artifact)| artifact)),
        };
        match outcome {
            Ok(uris) => result.outputs = uris,
            Err(error) => result.fail(&error),
        }
        (result, produced)
    }

    /// Writes a step's outputs to storage (atomically, each under the URI `execute` reported).
    /// A model's binary part goes beside its JSON, as `<output>.model.bin`.
    fn store(&self, step: &str, produced: &[(String, Artifact)]) -> anyhow::Result<()> {
        let run_id = &self.options.run_id;
        for (output, artifact) in produced {
            let file = format!("{output}.{}", artifact.extension());
            self.storage()
                .put_with(run_id, step, &file, &mut |out| match artifact {
                    Artifact::Frame(frame) => frame::write_parquet(frame, out),
                    Artifact::Json(value) => Ok(serde_json::to_writer_pretty(out, value)?),
                    Artifact::Model(model) => Ok(serde_json::to_writer_pretty(out, &**model)?),
                })
                .with_context(|| format!("cannot store output `{output}` of step `{step}`"))?;
            if let Artifact::Model(model) = artifact {
                if let Some(binary) = &model.model.binary {
                    self.storage()
                        .put(run_id, step, &format!("{output}.model.bin"), binary)
                        .with_context(|| {
                            format!("cannot store output `{output}` of step `{step}`")
                        })?;
                }
            }
        }
        Ok(())
    }

    /// Reads stored outputs back (`mbt retry`, `mbt exec`).
    fn load(&self, uris: &BTreeMap<String, String>) -> anyhow::Result<Vec<(String, Artifact)>> {
        let mut loaded = Vec::new();
        for (output, uri) in uris {
            if !(uri.ends_with(".parquet") || uri.ends_with(".json")) {
                continue; // an extra file (a plot), not an artifact steps read
            }
            let bytes = self.storage().get(uri)?;
            let artifact = if uri.ends_with(".parquet") {
                Artifact::Frame(frame::from_parquet(bytes)?)
            } else if let Some(stem) = uri.strip_suffix(".model.json") {
                let mut model: ModelArtifact = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{uri} is not a model artifact"))?;
                if model.model.binary_len.is_some() {
                    let binary = self.storage().get(&format!("{stem}.model.bin"))?;
                    model.model.binary = Some(Arc::new(binary));
                }
                Artifact::Model(Arc::new(model))
            } else {
                Artifact::Json(
                    serde_json::from_slice(&bytes).with_context(|| format!("{uri} is not JSON"))?,
                )
            };
            loaded.push((output.clone(), artifact));
        }
        Ok(loaded)
    }
}

/// Runs every step, batch by batch; the steps of one batch do not depend on each other and
/// run on parallel threads. Step failures are recorded in the results (status `failed`) and
/// stop the run after their batch; `Err` is returned only when the run could not start (an
/// adapter is missing) or its record cannot be written.
pub fn run(
    manifest: &Manifest,
    options: &RunOptions<'_>,
    adapters: &Adapters,
    progress: &mut dyn Progress,
) -> anyhow::Result<RunResults> {
    adapters.executor.runs_here()?;
    adapters.setup()?;
    let started = Instant::now();
    let outcome = run_steps(manifest, options, adapters, progress);
    let problems = adapters.teardown();
    let mut results = outcome?;
    let sample = |name, value| Sample {
        scope: Scope::Run,
        name,
        key: None,
        value,
    };
    let samples = [
        sample("duration_seconds", started.elapsed().as_secs_f64()),
        sample("success", f64::from(u8::from(results.status == "success"))),
    ];
    let mut notes = adapters.warnings();
    notes.extend(adapters.emit(&Emission {
        pipeline: &manifest.metadata.pipeline_name,
        target: &manifest.metadata.target,
        samples: &samples,
    }));
    if !notes.is_empty() {
        results.warnings.extend(notes);
        write_results(&options.results_path, &results)?;
    }
    if !problems.is_empty() {
        results
            .warnings
            .extend(problems.iter().map(|error| format!("teardown: {error:#}")));
        write_results(&options.results_path, &results)?;
    }
    Ok(results)
}

/// The registry's id of the run in `log_run`'s record, when it is not MBT's own.
fn registry_run_id(produced: &[(String, Artifact)], run_id: &str) -> Option<String> {
    produced.iter().find_map(|(name, artifact)| match artifact {
        Artifact::Json(record) if name == "run_record" => record
            .get("run_id")
            .and_then(|id| id.as_str())
            .filter(|id| *id != run_id)
            .map(str::to_string),
        _ => None,
    })
}

fn run_steps(
    manifest: &Manifest,
    options: &RunOptions<'_>,
    adapters: &Adapters,
    progress: &mut dyn Progress,
) -> anyhow::Result<RunResults> {
    let runner = Runner {
        manifest,
        options,
        adapters,
    };
    let mut results = RunResults {
        run_id: options.run_id.clone(),
        pipeline: manifest.metadata.pipeline_name.clone(),
        target: manifest.metadata.target.clone(),
        status: "running".into(),
        started: options
            .resume
            .map_or_else(timestamp, |previous| previous.started.clone()),
        finished: None,
        execution_date: options.execution_date.map(|d| d.to_string()),
        steps: IndexMap::new(),
        metrics: BTreeMap::new(),
        warnings: Vec::new(),
        registry_run_id: options
            .resume
            .and_then(|previous| previous.registry_run_id.clone()),
    };
    write_results(&options.results_path, &results)?;
    let mut artifacts: BTreeMap<String, Artifact> = BTreeMap::new();
    let total = manifest.dag.execution_order.len();
    let position = |name: &str| {
        manifest
            .dag
            .execution_order
            .iter()
            .position(|n| n == name)
            .unwrap_or(0)
    };
    // Each artifact is dropped from memory after the last batch that reads it (its stored copy
    // stays for `mbt retry` / `mbt exec`): a run holds what is still needed, not every table.
    let last_use = last_uses(manifest);
    std::thread::scope(|scope| {
        // The previous batch's outputs are written on a background thread while this batch
        // runs: at most one batch of writes is in flight, so memory holds no outputs beyond
        // those a running step reads anyway. `run_results.json` may name an output that is
        // not written yet; `mbt retry` checks that each output exists before it skips a step.
        let mut writing: Option<std::thread::ScopedJoinHandle<'_, Vec<(String, anyhow::Error)>>> =
            None;
        for (batch_index, batch) in manifest.dag.execution_batches.iter().enumerate() {
            let mut pending = Vec::new();
            for name in batch {
                let step = &manifest.steps[name];
                let Some(previous) = reusable(options.resume, name, step, runner.storage()) else {
                    pending.push(name.as_str());
                    continue;
                };
                progress.step_started(position(name), total, name);
                artifacts.extend(runner.load(&previous.outputs)?);
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
            }
            for name in &pending {
                progress.step_started(position(name), total, name);
            }
            // Each job puts its outcome in its slot; a step that panics is a failed step.
            let slots: Vec<Mutex<Option<StepOutcome>>> =
                pending.iter().map(|_| Mutex::new(None)).collect();
            let jobs: Vec<Job<'_>> = pending
                .iter()
                .zip(&slots)
                .map(|(name, slot)| {
                    let (runner, inputs) = (&runner, runner.inputs_of(name, &artifacts));
                    Box::new(move || {
                        let outcome =
                            catch_unwind(AssertUnwindSafe(|| runner.execute(name, inputs)))
                                .unwrap_or_else(|_| panicked());
                        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
                    }) as Job<'_>
                })
                .collect();
            // The steps now hold what this batch is the last to read: they free it when done.
            artifacts.retain(|name, _| last_use.get(name).is_some_and(|last| *last > batch_index));
            adapters.executor.run_batch(jobs);
            let finished: Vec<StepOutcome> = slots
                .into_iter()
                .map(|slot| {
                    slot.into_inner()
                        .unwrap_or_else(|e| e.into_inner())
                        .unwrap_or_else(not_run)
                })
                .collect();
            let mut failed = false;
            let mut outputs = Vec::new();
            for (name, (result, produced)) in pending.iter().zip(finished) {
                progress.step_finished(name, &result);
                emit_step(manifest, adapters, name, &result, &mut results.warnings);
                if let Some(id) = registry_run_id(&produced, &options.run_id) {
                    results.registry_run_id = Some(id);
                }
                outputs.push((name.to_string(), produced.clone()));
                artifacts.extend(produced);
                if *name == "evaluate" {
                    results.metrics = result.metrics.clone();
                }
                failed |= result.error.is_some();
                results.steps.insert(name.to_string(), result);
            }
            artifacts.retain(|name, _| last_use.get(name).is_some_and(|last| *last > batch_index));
            failed |= record_store_failures(writing.take(), &mut results);
            let runner = &runner;
            writing = Some(scope.spawn(move || {
                outputs
                    .into_iter()
                    .filter_map(|(step, produced)| {
                        runner
                            .store(&step, &produced)
                            .err()
                            .map(|error| (step, error))
                    })
                    .collect()
            }));
            if failed {
                record_store_failures(writing.take(), &mut results);
                results.status = "failed".into();
                results.finished = Some(timestamp());
                write_results(&options.results_path, &results)?;
                return Ok(results);
            }
            write_results(&options.results_path, &results)?;
        }
        let failed = record_store_failures(writing.take(), &mut results);
        results.status = if failed { "failed" } else { "success" }.into();
        results.finished = Some(timestamp());
        write_results(&options.results_path, &results)?;
        Ok(results)
    })
}

/// The rows of the tables among `artifacts` (`None` when there is none).
fn rows<'a>(artifacts: impl Iterator<Item = &'a Artifact>) -> Option<usize> {
    artifacts
        .filter_map(|artifact| match artifact {
            Artifact::Frame(frame) => Some(frame.height()),
            _ => None,
        })
        .reduce(|a, b| a + b)
}

/// What a finished step tells monitoring: its duration, success and rows; evaluate's metrics
/// and publish's row count are the run's.
fn step_samples(step: &str, result: &StepResult) -> Vec<Sample> {
    let sample = |scope, name, key: Option<&str>, value| Sample {
        scope,
        name,
        key: key.map(str::to_string),
        value,
    };
    let of_step = || Scope::Step(step.to_string());
    let mut samples = vec![
        sample(of_step(), "duration_seconds", None, result.duration_s),
        sample(
            of_step(),
            "success",
            None,
            f64::from(u8::from(result.error.is_none())),
        ),
    ];
    samples.extend(
        result
            .rows_in
            .map(|rows| sample(of_step(), "rows_in", None, rows as f64)),
    );
    samples.extend(
        result
            .rows_out
            .map(|rows| sample(of_step(), "rows_out", None, rows as f64)),
    );
    if result.error.is_none() {
        if step == "evaluate" {
            samples.extend(
                result
                    .metrics
                    .iter()
                    .map(|(metric, value)| sample(Scope::Run, "evaluation", Some(metric), *value)),
            );
        }
        if let Some(rows) = result.metrics.get("published_rows") {
            samples.push(sample(Scope::Run, "predictions", None, *rows));
        }
    }
    samples
}

/// Sends a step's samples; a failure becomes a warning of `warnings`.
fn emit_step(
    manifest: &Manifest,
    adapters: &Adapters,
    step: &str,
    result: &StepResult,
    warnings: &mut Vec<String>,
) {
    let samples = step_samples(step, result);
    warnings.extend(adapters.emit(&Emission {
        pipeline: &manifest.metadata.pipeline_name,
        target: &manifest.metadata.target,
        samples: &samples,
    }));
}

/// Waits for a batch's output writes; a step whose outputs could not be written has failed
/// (its record says why). True when one did.
fn record_store_failures(
    writing: Option<std::thread::ScopedJoinHandle<'_, Vec<(String, anyhow::Error)>>>,
    results: &mut RunResults,
) -> bool {
    let failures = writing.map_or_else(Vec::new, |handle| {
        handle
            .join()
            .unwrap_or_else(|_| vec![(String::new(), anyhow::anyhow!("writing outputs panicked"))])
    });
    for (step, error) in &failures {
        if let Some(result) = results.steps.get_mut(step) {
            result.fail(error);
        }
    }
    !failures.is_empty()
}

/// Artifact name → index of the last execution batch with a step that reads it.
fn last_uses(manifest: &Manifest) -> BTreeMap<String, usize> {
    let mut last = BTreeMap::new();
    for (index, batch) in manifest.dag.execution_batches.iter().enumerate() {
        for step in batch {
            for input in &manifest.steps[step].inputs {
                last.insert(input.clone(), index);
            }
        }
    }
    last
}

/// The outcome of a step the executor never ran (an executor that broke its contract).
fn not_run() -> StepOutcome {
    let (mut result, produced) = panicked();
    result.error =
        Some("the executor did not run the step (a bug in MBT: please report it)".into());
    (result, produced)
}

/// The outcome of a step that panicked.
fn panicked() -> StepOutcome {
    let result = StepResult {
        status: "failed".into(),
        duration_s: 0.0,
        outputs: BTreeMap::new(),
        metrics: BTreeMap::new(),
        warnings: Vec::new(),
        error: Some("the step panicked (a bug in MBT: please report it)".into()),
        code: Some(Code::InternalRuntimeError.as_str().into()),
        help: None,
        rows_in: None,
        rows_out: None,
    };
    (result, Vec::new())
}

/// `mbt exec`: runs one step of run `options.run_id`, reading its inputs from storage where the
/// run's earlier steps (each perhaps its own `mbt exec`) put them. The orchestrator's unit.
pub fn exec(
    manifest: &Manifest,
    options: &RunOptions<'_>,
    adapters: &Adapters,
    name: &str,
) -> anyhow::Result<StepResult> {
    let Some(step) = manifest.steps.get(name) else {
        let names: Vec<&str> = manifest.steps.keys().map(String::as_str).collect();
        anyhow::bail!(
            "pipeline `{}` has no step `{name}` (steps: {})",
            manifest.metadata.pipeline_name,
            names.join(", ")
        );
    };
    adapters.setup()?;
    let result = exec_step(manifest, options, adapters, name, step);
    let problems = adapters.teardown();
    let mut result = result?;
    result
        .warnings
        .extend(problems.iter().map(|error| format!("teardown: {error:#}")));
    Ok(result)
}

fn exec_step(
    manifest: &Manifest,
    options: &RunOptions<'_>,
    adapters: &Adapters,
    name: &str,
    step: &Step,
) -> anyhow::Result<StepResult> {
    let runner = Runner {
        manifest,
        options,
        adapters,
    };
    let mut uris = BTreeMap::new();
    for input in &step.inputs {
        let producer = manifest
            .steps
            .iter()
            .find(|(_, s)| s.outputs.contains(input))
            .map(|(n, _)| n.clone())
            .with_context(|| format!("no step of the manifest produces `{input}`"))?;
        let uri = ["parquet", "model.json", "json"]
            .iter()
            .map(|ext| runner.storage().uri(&options.run_id, &producer, &format!("{input}.{ext}")))
            .find(|uri| runner.storage().exists(uri))
            .ok_or_else(|| {
                coded(
                    Code::StorageFailed,
                    format!(
                        "input `{input}` of `{name}` is not in storage for run `{}`",
                        options.run_id
                    ),
                    format!(
                        "run step `{producer}` first: mbt exec --pipeline {} --step {producer} --run-id {}",
                        manifest.metadata.pipeline_name, options.run_id
                    ),
                )
            })?;
        uris.insert(input.clone(), uri);
    }
    let artifacts: BTreeMap<String, Artifact> = runner.load(&uris)?.into_iter().collect();
    let (mut result, produced) = runner.execute(name, runner.inputs_of(name, &artifacts));
    if let Err(error) = runner.store(name, &produced) {
        result.fail(&error);
    }
    let mut warnings = Vec::new();
    emit_step(manifest, adapters, name, &result, &mut warnings);
    result.warnings.extend(warnings);
    Ok(result)
}

/// The previous result of `name` when it can be reused: the step is idempotent, succeeded (or
/// was itself reused) and every output still exists.
fn reusable<'a>(
    resume: Option<&'a RunResults>,
    name: &str,
    step: &Step,
    storage: &dyn Storage,
) -> Option<&'a StepResult> {
    let previous = resume?.steps.get(name)?;
    let done = previous.status == "success" || previous.status == "skipped";
    let complete = step.outputs.iter().all(|output| {
        previous
            .outputs
            .get(output)
            .is_some_and(|uri| storage.exists(uri))
    });
    (step.idempotent && done && complete).then_some(previous)
}

fn write_results(path: &Path, results: &RunResults) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(results)? + "\n";
    write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
        .context("cannot write run_results.json")
}

/// The leaderboard the model of a finished training run was chosen from (AutoML frameworks),
/// read back from the run's storage (`leaderboard.json`, stored by train_model); `None` for
/// other frameworks.
pub fn leaderboard(
    results: &RunResults,
    adapters: &Adapters,
) -> Option<Vec<crate::adapters::LeaderboardRow>> {
    let uri = results
        .steps
        .get("train_model")?
        .outputs
        .get("leaderboard.json")?;
    let bytes = adapters.storage.get(uri).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn artifacts_are_kept_until_their_last_reader() {
        let manifest = mbt_contract::manifest::parse_manifest(include_str!(
            "../../examples/telecom-churn/golden/churn_gbm_v1.manifest.json"
        ))
        .unwrap();
        let last = super::last_uses(&manifest);
        let batch = |step: &str| {
            manifest
                .dag
                .execution_batches
                .iter()
                .position(|b| b.iter().any(|s| s == step))
                .unwrap()
        };
        // The raw table is read by split_data only; the model by evaluate and log_run.
        assert_eq!(last["raw_data"], batch("split_data"));
        assert_eq!(last["model"], batch("log_run"));
        assert!(
            !last.contains_key("run_record"),
            "nothing reads log_run's record"
        );
    }
}
