//! `mbt retry PIPELINE`: resumes the pipeline's last run with the same run id and the manifest
//! that run used (never the YAML), skipping idempotent steps whose outputs still exist.
//! `--force` runs every step again (also after a successful run).

use std::process::ExitCode;

use anyhow::Context;
use mbt_runtime::load_manifest;
use mbt_runtime::run::{run as execute, RunOptions, RunResults};
use mbt_runtime::windows::parse_date;

use super::run::{adapters_of, refuse_error, return_freed_memory_promptly};
use crate::args::RetryArgs;
use crate::host::Host;
use crate::outln;
use crate::progress::Console;

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
    if previous.status == "success" && !args.force {
        outln!(
            "run {} of {} succeeded; nothing to retry (--force runs it again)",
            previous.run_id,
            args.pipeline
        );
        return Ok(ExitCode::SUCCESS);
    }
    let manifest = match load_manifest(&folder.join("manifest.json")) {
        Ok(manifest) => manifest,
        Err(error) => return refuse_error(&host.db, error, color),
    };
    let adapters = match adapters_of(&manifest, &host.root) {
        Ok(adapters) => adapters,
        Err(error) => return refuse_error(&host.db, error, color),
    };
    eprintln!(
        "{} {} (run {})",
        if args.force { "rerunning" } else { "retrying" },
        args.pipeline,
        previous.run_id
    );
    let options = RunOptions {
        project: &host.root,
        run_id: previous.run_id.clone(),
        results_path,
        // `--force` reuses nothing: every step runs again.
        resume: (!args.force).then_some(&previous),
        // The earlier run's date, so the steps see the same windows.
        execution_date: previous.execution_date.as_deref().and_then(parse_date),
    };
    let results = match execute(&manifest, &options, &adapters, &mut Console::new()) {
        Ok(results) => results,
        Err(error) => return refuse_error(&host.db, error, color),
    };
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
