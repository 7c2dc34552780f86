//! `mbt dag`: a pipeline's steps as text or a Mermaid flowchart.

use std::process::ExitCode;

use crate::args::DagArgs;
use crate::host::Host;
use crate::outln;

pub fn run(args: DagArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let Some(manifest) = super::compiled(&host, &args.pipeline, color)? else {
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
