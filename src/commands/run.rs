//! `mbt run --select PIPELINE`: compile, then execute the manifest with the runtime.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use mbt_runtime::load_manifest;
use mbt_runtime::run::{
    new_run_id, run as execute, timestamp, Progress, RunOptions, RunResults, StepResult,
};

use crate::args::{LogFormat, RetryArgs, RunArgs};
use crate::host::Host;
use crate::outln;
use crate::output::write_atomic;

struct Console;

impl Progress for Console {
    fn step_started(&mut self, index: usize, total: usize, step: &str) {
        let _ = write!(std::io::stderr(), "[{}/{total}] {step} ... ", index + 1);
    }

    fn step_finished(&mut self, _step: &str, result: &StepResult) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{} ({:.2} s)", result.status, result.duration_s);
        for warning in &result.warnings {
            let _ = writeln!(stderr, "      warning: {warning}");
        }
        if let Some(error) = &result.error {
            let _ = writeln!(stderr, "      error: {error}");
        }
    }
}

/// `--log-format json`: one JSON object per line on stderr (ts, level, pipeline, step, run_id,
/// target, event), for log collectors.
struct JsonLog {
    pipeline: String,
    run_id: String,
    target: String,
}

impl JsonLog {
    fn emit(&self, level: &str, step: &str, event: &str, extra: serde_json::Value) {
        let mut line = serde_json::json!({
            "ts": timestamp(),
            "level": level,
            "pipeline": self.pipeline,
            "step": step,
            "run_id": self.run_id,
            "target": self.target,
            "event": event,
        });
        if let (Some(line), Some(extra)) = (line.as_object_mut(), extra.as_object()) {
            line.extend(extra.clone());
        }
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

impl Progress for JsonLog {
    fn step_started(&mut self, _index: usize, _total: usize, step: &str) {
        self.emit("INFO", step, "step_started", serde_json::json!({}));
    }

    fn step_finished(&mut self, step: &str, result: &StepResult) {
        for warning in &result.warnings {
            self.emit(
                "WARNING",
                step,
                "step_warning",
                serde_json::json!({"message": warning}),
            );
        }
        let (level, event) = match result.status.as_str() {
            "failed" => ("ERROR", "step_failed"),
            "skipped" => ("INFO", "step_skipped"),
            _ => ("INFO", "step_completed"),
        };
        self.emit(
            level,
            step,
            event,
            serde_json::json!({"duration_s": result.duration_s, "error": result.error}),
        );
    }
}

pub fn run(args: RunArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let Some(manifest) = super::compiled(&host, &args.select, color)? else {
        return Ok(ExitCode::FAILURE);
    };
    let manifest = &manifest;
    let name = &manifest.metadata.pipeline_name;
    let folder = host.root.join("target").join(name);
    // Recompiled on every run: the manifest on disk is rewritten only when it changed.
    let manifest_path = folder.join("manifest.json");
    let text = manifest.to_json_string();
    if std::fs::read_to_string(&manifest_path).ok().as_deref() != Some(text.as_str()) {
        write_atomic(&manifest_path, text.as_bytes())?;
    }
    let run_id = new_run_id();
    let mut progress: Box<dyn Progress> = match args.log_format {
        LogFormat::Text => {
            eprintln!(
                "running {name} (target {}, run {run_id})",
                manifest.metadata.target
            );
            Box::new(Console)
        }
        LogFormat::Json => Box::new(JsonLog {
            pipeline: name.clone(),
            run_id: run_id.clone(),
            target: manifest.metadata.target.clone(),
        }),
    };
    let options = RunOptions {
        project: &host.root,
        run_id,
        results_path: folder.join("run_results.json"),
        resume: None,
    };
    finish(&execute(manifest, &options, progress.as_mut())?)
}

fn finish(results: &RunResults) -> anyhow::Result<ExitCode> {
    for (metric, value) in &results.metrics {
        outln!("{metric}: {value:.4}");
    }
    outln!(
        "run {}: {} -> target/{}/run_results.json",
        results.run_id,
        results.status,
        results.pipeline
    );
    Ok(if results.status == "success" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `mbt retry PIPELINE`: re-runs the manifest of the last run from its failure point, with the
/// same run id, skipping idempotent steps whose outputs exist.
pub fn retry(args: RetryArgs) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let folder = host.root.join("target").join(&args.pipeline);
    let results_path = folder.join("run_results.json");
    let text = std::fs::read_to_string(&results_path).with_context(|| {
        format!(
            "no run to retry: {} does not exist (use `mbt run --select {}`)",
            results_path.display(),
            args.pipeline
        )
    })?;
    let previous: RunResults = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a run record", results_path.display()))?;
    if previous.status == "success" {
        outln!(
            "run {} of {} succeeded; nothing to retry",
            previous.run_id,
            args.pipeline
        );
        return Ok(ExitCode::SUCCESS);
    }
    // The runtime reads the manifest the failed run used, not the YAML.
    let manifest = load_manifest(&folder.join("manifest.json"))?;
    eprintln!("retrying {} (run {})", args.pipeline, previous.run_id);
    let options = RunOptions {
        project: &host.root,
        run_id: previous.run_id.clone(),
        results_path,
        resume: Some(&previous),
    };
    finish(&execute(&manifest, &options, &mut Console)?)
}
