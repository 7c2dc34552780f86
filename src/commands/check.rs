//! `mbt check`: every diagnostic of the project, or of what the given files affect.

use std::process::ExitCode;

use mbt_compiler::diagnostics::{json, sarif, sort_and_dedup, Summary};
use mbt_compiler::queries::check::{check_project, prefetch_pipelines};
use mbt_compiler::queries::manifest::MBT_VERSION;

use crate::args::{CheckArgs, Format};
use crate::host::Host;
use crate::outln;
use crate::output::{print_diagnostics, summary_line};

pub fn run(args: CheckArgs, color: bool) -> anyhow::Result<ExitCode> {
    for path in &args.paths {
        if !path.exists() {
            anyhow::bail!("{} does not exist", path.display());
        }
    }
    let host = Host::load_for(&args.project, &args.paths)?;
    let paths: Option<Vec<String>> =
        (!args.paths.is_empty()).then(|| args.paths.iter().map(|p| host.project_path(p)).collect());
    if paths.is_none() {
        // Every pipeline is checked: validate them on all cores first.
        prefetch_pipelines(&host.db);
    }
    let report = check_project(&host.db, paths.as_deref());
    let mut diagnostics = host.diagnostics.clone();
    diagnostics.extend(report.diagnostics);
    sort_and_dedup(&mut diagnostics, &host.db);
    let summary = Summary::of(&diagnostics);
    match args.format {
        Format::Human => {
            print_diagnostics(&diagnostics, &host.db, color)?;
            eprintln!(
                "checked {} pipeline(s) and {} test file(s): {}",
                report.pipelines.len(),
                report.test_files.len(),
                summary_line(summary)
            );
        }
        Format::Json => outln!("{}", json::to_string(&diagnostics, &host.db)),
        Format::Sarif => outln!(
            "{}",
            serde_json::to_string_pretty(&sarif::to_value(&diagnostics, &host.db, MBT_VERSION))?
        ),
    }
    if summary.errors == 0 {
        host.save_catalog();
    }
    // Freeing the database takes longer than exiting; the OS reclaims the memory at once.
    std::mem::forget(host);
    Ok(if summary.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
