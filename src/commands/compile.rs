//! `mbt compile`: pipelines to `target/<pipeline>/manifest.json`.

use std::process::ExitCode;

use mbt_compiler::diagnostics::Summary;
use mbt_compiler::queries::manifest::manifest;

use crate::args::CompileArgs;
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, summary_line, write_atomic};

pub fn run(args: CompileArgs, color: bool) -> anyhow::Result<ExitCode> {
    let host = Host::load(&args.project)?;
    let mut failed = false;
    for name in &args.pipelines {
        let file = match host.runnable_pipeline(name) {
            Ok(file) => file,
            Err(diagnostic) => {
                print_diagnostics(&[*diagnostic], &host.db, color)?;
                failed = true;
                continue;
            }
        };
        let diagnostics = super::diagnostics_of(&host, file);
        print_diagnostics(&diagnostics, &host.db, color)?;
        let summary = Summary::of(&diagnostics);
        let result = manifest(&host.db, file);
        match (&result.manifest, summary.errors) {
            (Some(manifest), 0) => {
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
                eprintln!("{name}: {}; no manifest written", summary_line(summary));
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
