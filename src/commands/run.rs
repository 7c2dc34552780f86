//! `mbt run --select PIPELINE`: compile, then execute the manifest with the runtime.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use mbt_compiler::diagnostics::{did_you_mean, Code, Diagnostic};
use mbt_compiler::manifest::Manifest;
use mbt_runtime::adapters::{Adapters, Registry};
use mbt_runtime::error::code_of;
use mbt_runtime::load_manifest;
use mbt_runtime::run::{
    exec as exec_step, new_run_id, run as execute, timestamp, Progress, RunOptions, RunResults,
    StepResult,
};
use mbt_runtime::windows::{parse_date, NaiveDate};

use crate::args::{ExecArgs, LogFormat, RetryArgs, RunArgs};
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, write_atomic};

/// Progress for people: a spinner naming the running steps on a terminal (indicatif), and one
/// line per finished step either way, so logs of non-interactive runs read the same.
struct Console {
    bar: Option<indicatif::ProgressBar>,
    /// Step name → "[i/n]" position, for the finished lines.
    positions: std::collections::BTreeMap<String, String>,
    running: Vec<String>,
}

impl Console {
    fn new() -> Console {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Console {
            bar,
            positions: Default::default(),
            running: Vec::new(),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }
}

impl Progress for Console {
    fn step_started(&mut self, index: usize, total: usize, step: &str) {
        self.positions
            .insert(step.to_string(), format!("[{}/{total}]", index + 1));
        self.running.push(step.to_string());
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_message(self.running.join(", "));
        }
    }

    fn step_finished(&mut self, step: &str, result: &StepResult) {
        self.running.retain(|running| running != step);
        let position = self.positions.get(step).cloned().unwrap_or_default();
        self.line(&format!(
            "{position} {step} ... {} ({:.2} s)",
            result.status, result.duration_s
        ));
        for warning in &result.warnings {
            self.line(&format!("      warning: {warning}"));
        }
        if let Some(error) = &result.error {
            let code = result.code.as_deref().unwrap_or("MBT9002");
            self.line(&format!("      error[{code}]: {error}"));
            if let Some(help) = &result.help {
                self.line(&format!("      help: {help}"));
            }
            self.line(&format!("      (run `mbt explain {code}` for details)"));
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(self.running.join(", "));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
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
            serde_json::json!({"duration_s": result.duration_s, "error": result.error, "code": result.code, "help": result.help}),
        );
    }
}

/// mimalloc 3 keeps freed pages for a second before returning them to the OS. A run frees
/// large frames step after step; returning them within 100 ms keeps the peak resident memory
/// near what is live (-100 MB on the training benchmark). 0 ms would cost a second of page
/// faults there: training frees and reallocates its histograms tree after tree. Option 15 is
/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (libmimalloc-sys has no constant).
fn return_freed_memory_promptly() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is thread-safe and takes effect at the next purge.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 100) };
}

pub fn run(args: RunArgs, color: bool) -> anyhow::Result<ExitCode> {
    return_freed_memory_promptly();
    let host = Host::load(&args.project)?;
    let Some(manifest) = super::compiled(&host, &args.select, color)? else {
        return Ok(ExitCode::FAILURE);
    };
    let manifest = &manifest;
    let name = &manifest.metadata.pipeline_name;
    let execution_date = match execution_date(&host) {
        Ok(date) => date,
        Err(diagnostic) => return refuse(&host, *diagnostic, color),
    };
    let folder = store_manifest(&host, manifest)?;
    let adapters = match adapters_of(manifest, &host.root) {
        Ok(adapters) => adapters,
        Err(error) => return refuse_error(&host, error, color),
    };
    let run_id = new_run_id();
    if args.log_format == LogFormat::Text {
        eprintln!(
            "running {name} (target {}, run {run_id})",
            manifest.metadata.target
        );
    }
    let mut progress = progress_for(args.log_format, manifest, &run_id);
    let options = RunOptions {
        project: &host.root,
        run_id,
        results_path: folder.join("run_results.json"),
        resume: None,
        execution_date,
    };
    match execute(manifest, &options, &adapters, progress.as_mut()) {
        Ok(results) => finish(&results),
        Err(error) => refuse_error(&host, error, color),
    }
}

/// The adapters of a run on the manifest's target, built by the registry.
fn adapters_of(manifest: &Manifest, root: &std::path::Path) -> anyhow::Result<Adapters> {
    Registry::builtin().build(&manifest.profile.settings, root)
}

/// Writes `target/<pipeline>/manifest.json` when it changed; returns that folder. Recompiled
/// on every run, so a run never uses a stale manifest.
fn store_manifest(host: &Host, manifest: &Manifest) -> anyhow::Result<std::path::PathBuf> {
    let folder = host
        .root
        .join("target")
        .join(&manifest.metadata.pipeline_name);
    let manifest_path = folder.join("manifest.json");
    let text = manifest.to_json_string();
    if std::fs::read_to_string(&manifest_path).ok().as_deref() != Some(text.as_str()) {
        write_atomic(&manifest_path, text.as_bytes())?;
    }
    Ok(folder)
}

fn progress_for(format: LogFormat, manifest: &Manifest, run_id: &str) -> Box<dyn Progress> {
    match format {
        LogFormat::Text => Box::new(Console::new()),
        LogFormat::Json => Box::new(JsonLog {
            pipeline: manifest.metadata.pipeline_name.clone(),
            run_id: run_id.to_string(),
            target: manifest.metadata.target.clone(),
        }),
    }
}

/// `mbt exec --pipeline P --step S --run-id R`: one step, inputs from storage. The step's
/// result is written to `target/<pipeline>/exec/<run_id>/<step>.json`; the exit code says
/// whether it succeeded.
pub fn exec(args: ExecArgs, color: bool) -> anyhow::Result<ExitCode> {
    return_freed_memory_promptly();
    let host = Host::load(&args.project)?;
    let Some(manifest) = super::compiled(&host, &args.pipeline, color)? else {
        return Ok(ExitCode::FAILURE);
    };
    if !manifest.steps.contains_key(&args.step) {
        let names: Vec<&str> = manifest.steps.keys().map(String::as_str).collect();
        let diagnostic = Diagnostic::new(
            Code::UnknownStep,
            None,
            format!(
                "pipeline `{}` has no step `{}` (steps: {})",
                args.pipeline,
                args.step,
                names.join(", ")
            ),
        )
        .with_help(did_you_mean(&args.step, &names));
        return refuse(&host, diagnostic, color);
    }
    let execution_date = match execution_date(&host) {
        Ok(date) => date,
        Err(diagnostic) => return refuse(&host, *diagnostic, color),
    };
    let folder = store_manifest(&host, &manifest)?;
    let adapters = match adapters_of(&manifest, &host.root) {
        Ok(adapters) => adapters,
        Err(error) => return refuse_error(&host, error, color),
    };
    let mut progress = progress_for(args.log_format, &manifest, &args.run_id);
    let options = RunOptions {
        project: &host.root,
        run_id: args.run_id.clone(),
        results_path: folder.join("run_results.json"),
        resume: None,
        execution_date,
    };
    let index = manifest
        .dag
        .execution_order
        .iter()
        .position(|step| *step == args.step)
        .unwrap_or(0);
    progress.step_started(index, manifest.dag.execution_order.len(), &args.step);
    let result = match exec_step(&manifest, &options, &adapters, &args.step) {
        Ok(result) => result,
        // A coded failure before the step could start (an input not in storage).
        Err(error) => return refuse_error(&host, error, color),
    };
    progress.step_finished(&args.step, &result);
    let path = folder
        .join("exec")
        .join(&args.run_id)
        .join(format!("{}.json", args.step));
    write_atomic(
        &path,
        (serde_json::to_string_pretty(&result)? + "\n").as_bytes(),
    )?;
    Ok(if result.error.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--vars execution_date=YYYY-MM-DD`, the date time windows are relative to.
fn execution_date(host: &Host) -> Result<Option<NaiveDate>, Box<Diagnostic>> {
    let settings = host.db.settings();
    let Some(text) = settings.vars.get("execution_date") else {
        return Ok(None);
    };
    match parse_date(text) {
        Some(date) if text.len() == 10 => Ok(Some(date)),
        _ => Err(Diagnostic::new(
            Code::RunVarMissing,
            None,
            format!("--vars execution_date={text} is not a date"),
        )
        .with_help("write it as YYYY-MM-DD, e.g. --vars execution_date=2026-03-01")
        .into()),
    }
}

/// Prints a CLI-level diagnostic (no source span) and fails the command.
fn refuse(host: &Host, diagnostic: Diagnostic, color: bool) -> anyhow::Result<ExitCode> {
    print_diagnostics(&[diagnostic], &host.db, color)?;
    Ok(ExitCode::FAILURE)
}

/// A run that could not start: a coded error (an adapter, a secret, a manifest) is a
/// diagnostic; anything else is a host failure (exit 2).
fn refuse_error(host: &Host, error: anyhow::Error, color: bool) -> anyhow::Result<ExitCode> {
    match code_of(&error) {
        Some((code, help)) => {
            let diagnostic = Diagnostic::new(code, None, format!("{error:#}")).with_help(help);
            refuse(host, diagnostic, color)
        }
        None => Err(error),
    }
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
pub fn retry(args: RetryArgs, color: bool) -> anyhow::Result<ExitCode> {
    return_freed_memory_promptly();
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
    let manifest = match load_manifest(&folder.join("manifest.json")) {
        Ok(manifest) => manifest,
        Err(error) => return refuse_error(&host, error, color),
    };
    let adapters = match adapters_of(&manifest, &host.root) {
        Ok(adapters) => adapters,
        Err(error) => return refuse_error(&host, error, color),
    };
    eprintln!("retrying {} (run {})", args.pipeline, previous.run_id);
    let options = RunOptions {
        project: &host.root,
        run_id: previous.run_id.clone(),
        results_path,
        resume: Some(&previous),
        // The failed run's date, so resumed steps see the same windows.
        execution_date: previous.execution_date.as_deref().and_then(parse_date),
    };
    match execute(&manifest, &options, &adapters, &mut Console::new()) {
        Ok(results) => finish(&results),
        Err(error) => refuse_error(&host, error, color),
    }
}
