//! `mbt exec`: one step of a run, its inputs read from the run's storage, its outputs written
//! there: what an orchestrator schedules. `--manifest PATH` runs a pinned manifest with no
//! pipeline YAML on the worker (relative paths of the target resolve against `--project-dir`,
//! else the current directory); `--pipeline P` compiles the project's pipeline first. The step's
//! result goes to `target/<pipeline>/exec/<run_id>/<step>.json`; the exit code says whether it
//! succeeded.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mbt_compiler::diagnostics::Sources;
use mbt_compiler::diagnostics::{did_you_mean, Code, Diagnostic};
use mbt_compiler::manifest::Manifest;
use mbt_compiler::{Database, Settings};
use mbt_runtime::clock::new_run_id;
use mbt_runtime::load_manifest;
use mbt_runtime::run::{exec as exec_step, RunOptions};

use super::run::{
    adapters_of, execution_date, refuse, refuse_error, return_freed_memory_promptly, store_manifest,
};
use crate::args::ExecArgs;
use crate::host::Host;
use crate::output::write_atomic;
use crate::progress::progress_for;

pub fn exec(args: ExecArgs, color: bool) -> anyhow::Result<ExitCode> {
    return_freed_memory_promptly();
    // The manifest, the project root its relative paths resolve against, and what renders
    // diagnostics (a compiled project's sources, or none for a pinned manifest).
    let (manifest, root, sources): (Manifest, PathBuf, Box<dyn Sources>) =
        match (&args.manifest, &args.pipeline) {
            (Some(path), _) => {
                let empty = Box::new(Database::new(Settings::default()));
                let manifest = match load_manifest(path) {
                    Ok(manifest) => manifest,
                    Err(error) => return refuse_error(empty.as_ref(), error, color),
                };
                let root = match &args.project.project_dir {
                    Some(dir) => dir.clone(),
                    None => std::env::current_dir().context("cannot read the current directory")?,
                };
                (manifest, root, empty)
            }
            (None, Some(pipeline)) => {
                let host = Host::load(&args.project)?;
                let Some(manifest) = super::compiled(&host, pipeline, color)? else {
                    return Ok(ExitCode::FAILURE);
                };
                store_manifest(&host.root, &manifest)?;
                (manifest, host.root, Box::new(host.db))
            }
            (None, None) => unreachable!("clap requires --manifest or --pipeline"),
        };
    let sources = sources.as_ref();
    if !manifest.steps.contains_key(&args.step) {
        let names: Vec<&str> = manifest.steps.keys().map(String::as_str).collect();
        let diagnostic = Diagnostic::new(
            Code::UnknownStep,
            None,
            format!(
                "pipeline `{}` has no step `{}` (steps: {})",
                manifest.metadata.pipeline_name,
                args.step,
                names.join(", ")
            ),
        )
        .with_help(did_you_mean(&args.step, &names));
        return refuse(sources, diagnostic, color);
    }
    let vars = args.project.options()?.vars;
    let execution_date = match execution_date(&vars) {
        Ok(date) => date,
        Err(diagnostic) => return refuse(sources, *diagnostic, color),
    };
    let adapters = match adapters_of(&manifest, &root) {
        Ok(adapters) => adapters,
        Err(error) => return refuse_error(sources, error, color),
    };
    // Without --run-id this starts a run (its first step); later steps name it. A run id is a
    // folder name in storage: an orchestrator's (Airflow's `manual__2026-...+00:00`) fits.
    if let Some(run_id) = args.run_id.as_deref() {
        let valid = !run_id.is_empty()
            && !run_id.starts_with('.')
            && run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.~:+".contains(c));
        if !valid {
            let diagnostic = Diagnostic::new(
                Code::InvalidName,
                None,
                format!("run id `{run_id}` is not valid"),
            )
            .with_help(
                "a run id holds letters, digits and `_ - . ~ : +`, and does not start with `.`",
            );
            return refuse(sources, diagnostic, color);
        }
    }
    let run_id = args.run_id.clone().unwrap_or_else(new_run_id);
    let folder = root.join("target").join(&manifest.metadata.pipeline_name);
    let mut progress = progress_for(args.log_format, &manifest, &run_id);
    let options = RunOptions {
        project: &root,
        run_id: run_id.clone(),
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
        Err(error) => return refuse_error(sources, error, color),
    };
    progress.step_finished(&args.step, &result);
    let path = folder
        .join("exec")
        .join(&run_id)
        .join(format!("{}.json", args.step));
    write_atomic(
        &path,
        (serde_json::to_string_pretty(&result)? + "\n").as_bytes(),
    )?;
    if args.run_id.is_none() {
        eprintln!("run id: {run_id} (pass --run-id {run_id} to the run's next steps)");
    }
    Ok(if result.error.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
