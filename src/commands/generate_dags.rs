//! `mbt generate-dags [PIPELINE ...] --output DIR [--orchestrator airflow]`: compiles the
//! selected pipelines for the target and writes, per pipeline, the orchestrator's job
//! (`DIR/mbt_<pipeline>.py` for Airflow) and the manifest it pins (`DIR/manifests/`). Every task
//! runs `mbt exec --manifest` on that manifest, so the workers need no YAML.

use std::process::ExitCode;

use anyhow::Context;
use mbt_compiler::diagnostics::Summary;
use mbt_compiler::queries::manifest::manifest;
use mbt_runtime::orchestrators::{manifest_path, orchestrator, Generation};

use crate::args::GenerateDagsArgs;
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, summary_line, write_atomic};

pub fn run(args: GenerateDagsArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let orchestrator = match orchestrator(&args.orchestrator) {
        Ok(orchestrator) => orchestrator,
        Err(error) => {
            print_diagnostics(&[super::run::coded(error)], &host.db, color)?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some(selected) = super::selected(&host, &args.pipelines, &args.selection, color)? else {
        return Ok(ExitCode::FAILURE);
    };
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let output = args.output.canonicalize()?;
    let project = host.root.canonicalize()?;
    let mbt = match &args.mbt {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find this mbt executable")?,
    };
    let mut failed = false;
    for pipeline in &selected {
        let diagnostics = super::diagnostics_of(&host, pipeline.file);
        print_diagnostics(&diagnostics, &host.db, color)?;
        let summary = Summary::of(&diagnostics);
        let compiled = match (&manifest(&host.db, pipeline.file).manifest, summary.errors) {
            (Some(compiled), 0) => super::compile::with_snapshot(&host, compiled),
            _ => {
                eprintln!(
                    "{}: {}; no DAG written",
                    pipeline.name,
                    summary_line(summary)
                );
                failed = true;
                continue;
            }
        };
        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(diagnostic) => {
                print_diagnostics(&[*diagnostic], &host.db, color)?;
                failed = true;
                continue;
            }
        };
        let pinned = manifest_path(&output, &compiled);
        write_atomic(&pinned, compiled.to_json_string().as_bytes())?;
        let generation = Generation {
            mbt: &mbt,
            project: &project,
            manifest_path: &pinned,
            retries: args.retries,
        };
        let file = orchestrator.file_name(&compiled);
        write_atomic(
            &output.join(&file),
            orchestrator.generate(&compiled, &generation).as_bytes(),
        )?;
        outln!(
            "{}: {} tasks -> {}",
            pipeline.name,
            compiled.steps.len(),
            output.join(&file).display()
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
