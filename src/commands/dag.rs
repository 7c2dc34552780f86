//! `mbt dag`: a pipeline's steps as text or a Mermaid flowchart.

use std::process::ExitCode;

use mbt_compiler::diagnostics::Summary;
use mbt_compiler::queries::manifest::manifest;

use crate::args::DagArgs;
use crate::host::Host;
use crate::outln;
use crate::output::print_diagnostics;

pub fn run(args: DagArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let file = match host.runnable_pipeline(&args.pipeline) {
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
    if args.mermaid {
        outln!("graph TD");
        for step in &manifest.dag.execution_order {
            outln!("    {step}[{step}]");
        }
        for (child, parents) in &manifest.dag.parent_map {
            for parent in parents {
                outln!("    {parent} --> {child}");
            }
        }
    } else {
        outln!(
            "{} ({} steps, {} batches)",
            manifest.metadata.pipeline_name,
            manifest.steps.len(),
            manifest.dag.execution_batches.len()
        );
        for (index, batch) in manifest.dag.execution_batches.iter().enumerate() {
            for step in batch {
                let parents = &manifest.dag.parent_map[step];
                let after = if parents.is_empty() {
                    String::new()
                } else {
                    format!("  <- {}", parents.join(", "))
                };
                outln!("  {:>2}. {step}{after}", index + 1);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
