//! `mbt deps list`: the adapters this build runs, by kind, with their engine's version and what
//! each needs outside MBT (from the adapter table and the runtime's registry), and the adapters
//! MBT knows that this build does not run.

use std::process::ExitCode;

use mbt_compiler::contract::adapters::ADAPTERS;
use mbt_runtime::adapters::Registry;
use serde::Serialize;

use crate::args::{DepsArgs, DepsCommand, DepsFormat};
use crate::outln;

/// One adapter as `--format json` prints it (format version 1).
#[derive(Serialize)]
struct Entry {
    kind: &'static str,
    name: &'static str,
    available: bool,
    /// The engine and version implementing it; absent when not in this build.
    version: Option<&'static str>,
    needs: &'static str,
    description: &'static str,
}

pub fn run(args: DepsArgs) -> anyhow::Result<ExitCode> {
    let DepsCommand::List { format } = args.command;
    let installed = Registry::builtin().installed();
    let mut entries: Vec<Entry> = ADAPTERS
        .iter()
        .map(|spec| Entry {
            kind: spec.kind.as_str(),
            name: spec.name,
            available: spec.available,
            version: installed
                .iter()
                .find(|adapter| adapter.kind == spec.kind && adapter.name == spec.name)
                .map(|adapter| adapter.version),
            needs: spec.needs,
            description: spec.description,
        })
        .collect();
    entries.sort_by_key(|entry| (!entry.available, entry.kind, entry.name));
    match format {
        DepsFormat::Json => {
            let document = serde_json::json!({"version": 1, "adapters": entries});
            outln!("{}", serde_json::to_string_pretty(&document)?);
        }
        DepsFormat::Human => {
            outln!("{:<16} {:<12} {:<18} NEEDS", "KIND", "NAME", "VERSION");
            for entry in entries.iter().filter(|entry| entry.available) {
                outln!(
                    "{:<16} {:<12} {:<18} {}",
                    entry.kind,
                    entry.name,
                    entry.version.unwrap_or("-"),
                    entry.needs
                );
            }
            let missing: Vec<String> = entries
                .iter()
                .filter(|entry| !entry.available)
                .map(|entry| format!("{} {}", entry.kind, entry.name))
                .collect();
            if !missing.is_empty() {
                outln!();
                outln!("known, not in this build: {}", missing.join(", "));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
