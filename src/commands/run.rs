//! `mbt run [--select ...] [--exclude ...]`: compile the selected pipelines (every pipeline but
//! bases without a selection), then execute each manifest with the runtime, training before
//! serving, and print one summary. Nothing runs unless every selected pipeline compiles.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mbt_compiler::diagnostics::Sources;
use mbt_compiler::diagnostics::{Code, Diagnostic, Summary};
use mbt_compiler::manifest::Manifest;
use mbt_runtime::adapters::{Adapters, Registry};
use mbt_runtime::clock::new_run_id;
use mbt_runtime::error::code_of;
use mbt_runtime::run::{run as execute, RunOptions, RunResults};
use mbt_runtime::snapshot;
use mbt_runtime::windows::{parse_date, NaiveDate};
use serde_json::json;

use crate::args::{LogFormat, RunArgs};
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, write_atomic};
use crate::progress::{json_line, progress_for};
use crate::select::select;

/// mimalloc 3 keeps freed pages for a second before returning them to the OS. A run frees
/// large frames step after step; returning them within 100 ms keeps the peak resident memory
/// near what is live (-100 MB on the training benchmark). 0 ms would cost a second of page
/// faults there: training frees and reallocates its histograms tree after tree. Option 15 is
/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (libmimalloc-sys has no constant).
pub fn return_freed_memory_promptly() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is thread-safe and takes effect at the next purge.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 100) };
}

/// What one pipeline's run came to.
struct Outcome {
    pipeline: String,
    /// The run's record, or the coded error that kept it from starting.
    results: Result<RunResults, Box<Diagnostic>>,
}

pub fn run(args: RunArgs, color: bool) -> anyhow::Result<ExitCode> {
    return_freed_memory_promptly();
    let host = Host::load(&args.project)?;
    let selected = match select(&host, &args.selection.select, &args.selection.exclude) {
        Ok(selected) if !selected.is_empty() => selected,
        Ok(_) => {
            let diagnostic = Diagnostic::new(Code::PipelineNotFound, None, "nothing to run")
                .with_help("the selection leaves no pipeline: check --select and --exclude");
            return refuse(&host.db, diagnostic, color);
        }
        Err(problems) => {
            print_diagnostics(&problems, &host.db, color)?;
            return Ok(ExitCode::FAILURE);
        }
    };
    // Everything compiles before anything runs.
    let mut manifests = Vec::new();
    let mut failed = false;
    for pipeline in &selected {
        let diagnostics = super::diagnostics_of(&host, pipeline.file);
        print_diagnostics(&diagnostics, &host.db, color)?;
        match mbt_compiler::queries::manifest::manifest(&host.db, pipeline.file)
            .manifest
            .clone()
        {
            Some(manifest) if Summary::of(&diagnostics).errors == 0 => manifests.push(manifest),
            _ => failed = true,
        }
    }
    if failed {
        eprintln!("nothing was run: fix the errors above");
        return Ok(ExitCode::FAILURE);
    }
    let execution_date = match execution_date(&host.db.settings().vars) {
        Ok(date) => date,
        Err(diagnostic) => return refuse(&host.db, *diagnostic, color),
    };
    host.save_catalog();
    let mut outcomes = Vec::new();
    for manifest in &manifests {
        let results = run_one(&host.root, manifest, execution_date, args.log_format);
        if let Err(diagnostic) = &results {
            print_diagnostics(std::slice::from_ref(diagnostic), &host.db, color)?;
        }
        outcomes.push(Outcome {
            pipeline: manifest.metadata.pipeline_name.clone(),
            results,
        });
    }
    summarize(&outcomes, args.log_format)
}

/// Runs one compiled pipeline: its manifest is written first, so the run never uses a stale one.
fn run_one(
    root: &Path,
    manifest: &Manifest,
    execution_date: Option<NaiveDate>,
    format: LogFormat,
) -> Result<RunResults, Box<Diagnostic>> {
    let adapters = adapters_of(manifest, root).map_err(|error| Box::new(coded(error)))?;
    let mut manifest = manifest.clone();
    let manifest = &mut manifest;
    if let Some(note) =
        snapshot::take(manifest, &adapters, root).map_err(|error| Box::new(coded(error)))?
    {
        if format == LogFormat::Text {
            eprintln!("{}: {note}", manifest.metadata.pipeline_name);
        }
    }
    let folder = store_manifest(root, manifest).map_err(|error| {
        Box::new(
            Diagnostic::new(Code::StorageFailed, None, format!("{error:#}"))
                .with_help("check that the project's target/ folder is writable"),
        )
    })?;
    let run_id = new_run_id();
    if format == LogFormat::Text {
        eprintln!(
            "running {} (target {}, run {run_id})",
            manifest.metadata.pipeline_name, manifest.metadata.target
        );
    }
    let mut progress = progress_for(format, manifest, &run_id);
    let options = RunOptions {
        project: root,
        run_id,
        results_path: folder.join("run_results.json"),
        resume: None,
        execution_date,
    };
    let results = execute(manifest, &options, &adapters, progress.as_mut())
        .map_err(|error| Box::new(coded(error)))?;
    if format == LogFormat::Text && results.status == "success" {
        if let Some(board) = mbt_runtime::run::leaderboard(&results, &adapters) {
            // A closed stdout is reported by the summary that follows.
            let _ = print_leaderboard(&manifest.metadata.pipeline_name, &board);
        }
    }
    Ok(results)
}

/// The best rows of an AutoML leaderboard, under the pipeline's name.
fn print_leaderboard(
    pipeline: &str,
    board: &[mbt_runtime::adapters::LeaderboardRow],
) -> anyhow::Result<()> {
    const SHOWN: usize = 10;
    let Some(first) = board.first() else {
        return Ok(());
    };
    outln!(
        "{pipeline}: leaderboard ({} of {} by cross-validated {}; the first is served)",
        board.len().min(SHOWN),
        board.len(),
        first.metric
    );
    for (rank, row) in board.iter().take(SHOWN).enumerate() {
        let spread = row.std.map_or(String::new(), |std| format!(" ± {std:.4}"));
        let fit = row
            .fit_seconds
            .map_or(String::new(), |seconds| format!(" fit {seconds:.2} s"));
        let predict = row
            .predict_ms_per_1k
            .map_or(String::new(), |ms| format!(", predict {ms:.1} ms/1k rows"));
        outln!(
            "  {:>2}. {:<28} {:<16} {:.4}{spread:<10}{fit}{predict}",
            rank + 1,
            row.model_id,
            row.algorithm,
            row.score,
        );
    }
    Ok(())
}

/// One line per pipeline (status, run id, duration, metrics) and a total: on stdout for
/// people, as `run_finished` and `summary` JSON lines with `--log-format json`.
fn summarize(outcomes: &[Outcome], format: LogFormat) -> anyhow::Result<ExitCode> {
    let succeeded = outcomes
        .iter()
        .filter(|o| matches!(&o.results, Ok(r) if r.status == "success"))
        .count();
    for outcome in outcomes {
        match (&outcome.results, format) {
            (Ok(results), LogFormat::Text) => {
                for warning in &results.warnings {
                    eprintln!("warning: {}: {warning}", outcome.pipeline);
                }
                let metrics: Vec<String> = results
                    .metrics
                    .iter()
                    .map(|(name, value)| format!("{name} {value:.4}"))
                    .collect();
                outln!(
                    "{}: {} (run {}{}, {:.1} s){}",
                    outcome.pipeline,
                    results.status,
                    results.run_id,
                    // Only MLflow has ids of its own (the plan's "MLflow run_id: ...").
                    results
                        .registry_run_id
                        .as_ref()
                        .map_or(String::new(), |id| format!(", MLflow run_id {id}")),
                    duration(results),
                    if metrics.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", metrics.join(", "))
                    }
                );
            }
            (Err(diagnostic), LogFormat::Text) => outln!(
                "{}: not started ({})",
                outcome.pipeline,
                diagnostic.code.as_str()
            ),
            (Ok(results), LogFormat::Json) => json_line(&json!({
                "event": "run_finished",
                "pipeline": outcome.pipeline,
                "run_id": results.run_id,
                "registry_run_id": results.registry_run_id,
                "status": results.status,
                "duration_s": duration(results),
                "metrics": results.metrics,
                "warnings": results.warnings,
                "results": format!("target/{}/run_results.json", outcome.pipeline),
            })),
            (Err(diagnostic), LogFormat::Json) => json_line(&json!({
                "event": "run_finished",
                "pipeline": outcome.pipeline,
                "status": "not_started",
                "code": diagnostic.code.as_str(),
                "error": diagnostic.message,
                "help": diagnostic.help,
            })),
        }
    }
    let failed = outcomes.len() - succeeded;
    match format {
        LogFormat::Text => outln!(
            "{} pipeline(s): {succeeded} succeeded, {failed} failed",
            outcomes.len()
        ),
        LogFormat::Json => json_line(&json!({
            "event": "summary",
            "pipelines": outcomes.len(),
            "succeeded": succeeded,
            "failed": failed,
        })),
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A run's wall time in seconds: the sum of its steps' (batches run in parallel, so this is
/// the work done, an upper bound of the elapsed time).
fn duration(results: &RunResults) -> f64 {
    results.steps.values().map(|step| step.duration_s).sum()
}

/// The adapters of a run on the manifest's target, built by the registry.
pub fn adapters_of(manifest: &Manifest, root: &Path) -> anyhow::Result<Adapters> {
    Registry::builtin().build(&manifest.profile.settings, root)
}

/// Writes `target/<pipeline>/manifest.json` when it changed; returns that folder.
pub fn store_manifest(root: &Path, manifest: &Manifest) -> anyhow::Result<PathBuf> {
    let folder = root.join("target").join(&manifest.metadata.pipeline_name);
    let manifest_path = folder.join("manifest.json");
    let text = manifest.to_json_string();
    if std::fs::read_to_string(&manifest_path).ok().as_deref() != Some(text.as_str()) {
        write_atomic(&manifest_path, text.as_bytes())?;
    }
    Ok(folder)
}

/// `--vars execution_date=YYYY-MM-DD`, the date time windows are relative to.
pub fn execution_date(
    vars: &std::collections::BTreeMap<String, String>,
) -> Result<Option<NaiveDate>, Box<Diagnostic>> {
    let Some(text) = vars.get("execution_date") else {
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
pub fn refuse(
    sources: &dyn Sources,
    diagnostic: Diagnostic,
    color: bool,
) -> anyhow::Result<ExitCode> {
    print_diagnostics(&[diagnostic], sources, color)?;
    Ok(ExitCode::FAILURE)
}

/// A coded runtime error (an adapter, a secret, a manifest) as a diagnostic; anything else is
/// a host failure (exit 2) and stays an error.
pub fn refuse_error(
    sources: &dyn Sources,
    error: anyhow::Error,
    color: bool,
) -> anyhow::Result<ExitCode> {
    match code_of(&error) {
        Some(_) => refuse(sources, coded(error), color),
        None => Err(error),
    }
}

/// A coded error as a location-less diagnostic; an uncoded one is a bug (MBT9002).
pub fn coded(error: anyhow::Error) -> Diagnostic {
    match code_of(&error) {
        Some((code, help)) => Diagnostic::new(code, None, format!("{error:#}")).with_help(help),
        None => Diagnostic::new(Code::InternalRuntimeError, None, format!("{error:#}")).with_help(
            "this is a bug in MBT: please report it at https://github.com/mbt-dev/mbt/issues",
        ),
    }
}
