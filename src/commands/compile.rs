//! `mbt compile [PIPELINE|tag:NAME ...] [--select ...] [--exclude ...]`: pipelines to
//! `target/<pipeline>/manifest.json`, every pipeline but bases without a selection.

use std::process::ExitCode;

use mbt_compiler::diagnostics::{Diagnostic, Summary};
use mbt_compiler::manifest::Manifest;
use mbt_compiler::queries::manifest::manifest;

use crate::args::CompileArgs;
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, summary_line, write_atomic};

/// The manifest with its artifact snapshot taken, when it asks for one (`artifact_snapshot:
/// true`): the run's artifacts copied into `target/<pipeline>/artifacts/`, hashes in the manifest.
#[cfg(feature = "runtime")]
pub fn with_snapshot(host: &Host, manifest: &Manifest) -> Result<Manifest, Box<Diagnostic>> {
    let mut manifest = manifest.clone();
    // Building the target's adapters resolves its secrets: only when there is a copy to take.
    if !mbt_runtime::snapshot::requested(&manifest) {
        return Ok(manifest);
    }
    let coded = |error| Box::new(super::run::coded(error));
    let adapters = super::run::adapters_of(&manifest, &host.root).map_err(coded)?;
    if let Some(note) =
        mbt_runtime::snapshot::take(&mut manifest, &adapters, &host.root).map_err(coded)?
    {
        eprintln!("{}: {note}", manifest.metadata.pipeline_name);
    }
    Ok(manifest)
}

/// Without the runtime there is no registry to copy from: `mbt run` takes the snapshot.
#[cfg(not(feature = "runtime"))]
fn with_snapshot(_host: &Host, manifest: &Manifest) -> Result<Manifest, Box<Diagnostic>> {
    Ok(manifest.clone())
}

pub fn run(args: CompileArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let Some(selected) = super::selected(&host, &args.pipelines, &args.selection, color)? else {
        return Ok(ExitCode::FAILURE);
    };
    let mut failed = false;
    for pipeline in &selected {
        let diagnostics = super::diagnostics_of(&host, pipeline.file);
        print_diagnostics(&diagnostics, &host.db, color)?;
        let summary = Summary::of(&diagnostics);
        let result = manifest(&host.db, pipeline.file);
        match (&result.manifest, summary.errors) {
            (Some(manifest), 0) => {
                let manifest = match with_snapshot(&host, manifest) {
                    Ok(manifest) => manifest,
                    Err(diagnostic) => {
                        print_diagnostics(&[*diagnostic], &host.db, color)?;
                        failed = true;
                        continue;
                    }
                };
                let name = &manifest.metadata.pipeline_name;
                let path = host.root.join("target").join(name).join("manifest.json");
                write_atomic(&path, manifest.to_json_string().as_bytes())?;
                outln!(
                    "compiled {name} (target {}) -> target/{name}/manifest.json",
                    manifest.metadata.target
                );
                outln!(
                    "  {} steps: {}",
                    manifest.steps.len(),
                    manifest.dag.execution_order.join(" -> ")
                );
            }
            _ => {
                eprintln!(
                    "{}: {}; no manifest written",
                    pipeline.name,
                    summary_line(summary)
                );
                failed = true;
            }
        }
    }
    if !failed {
        host.save_catalog();
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
