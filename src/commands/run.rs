//! `mbt run --select PIPELINE`: compile, then execute the manifest with the runtime.

use std::io::Write;
use std::process::ExitCode;

use mbt_compiler::diagnostics::Summary;
use mbt_compiler::queries::manifest::manifest;
use mbt_runtime::run::{new_run_id, run as execute, Progress, RunOptions, StepResult};

use crate::args::RunArgs;
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, write_atomic};

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

pub fn run(args: RunArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let file = match host.runnable_pipeline(&args.select) {
        Ok(file) => file,
        Err(diagnostic) => {
            print_diagnostics(&[diagnostic], &host.db, color)?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let diagnostics = super::diagnostics_of(&host, file);
    print_diagnostics(&diagnostics, &host.db, color)?;
    let result = manifest(&host.db, file);
    let (Some(manifest), 0) = (&result.manifest, Summary::of(&diagnostics).errors) else {
        return Ok(ExitCode::FAILURE);
    };
    let name = &manifest.metadata.pipeline_name;
    let folder = host.root.join("target").join(name);
    // Recompiled on every run: the manifest on disk is rewritten only when it changed.
    let manifest_path = folder.join("manifest.json");
    let text = manifest.to_json_string();
    if std::fs::read_to_string(&manifest_path).ok().as_deref() != Some(text.as_str()) {
        write_atomic(&manifest_path, text.as_bytes())?;
    }
    let run_id = new_run_id();
    eprintln!(
        "running {name} (target {}, run {run_id})",
        manifest.metadata.target
    );
    let options = RunOptions {
        project: &host.root,
        run_id: run_id.clone(),
        results_path: folder.join("run_results.json"),
    };
    let results = execute(manifest, &options, &mut Console)?;
    for (metric, value) in &results.metrics {
        outln!("{metric}: {value:.4}");
    }
    outln!(
        "run {run_id}: {} -> target/{name}/run_results.json",
        results.status
    );
    Ok(if results.status == "success" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
