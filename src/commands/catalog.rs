//! `mbt catalog`: reads every table of the target's data connector again into
//! `target/catalog.json` and prints their columns (type, missing share, few distinct values).

use std::process::ExitCode;

use mbt_compiler::db::{CatalogState, Db};
use mbt_compiler::diagnostics::sort_and_dedup;
use mbt_compiler::queries::columns::catalog_diagnostics;
use mbt_compiler::queries::profiles::resolved_profile;
use mbt_host::catalog::{catalog_path, load_catalog};

use crate::args::{CatalogArgs, DepsFormat};
use crate::host::Host;
use crate::outln;
use crate::output::print_diagnostics;

pub fn run(args: CatalogArgs, color: bool) -> anyhow::Result<ExitCode> {
    let mut host = Host::load(&args.project)?;
    let profile = resolved_profile(&host.db, host.db.project()).clone();
    let Some(read) = load_catalog(&mut host.db, &host.root, true) else {
        // The target does not resolve: its errors say why.
        let mut diagnostics = profile.diagnostics.clone();
        sort_and_dedup(&mut diagnostics, &host.db);
        print_diagnostics(&diagnostics, &host.db, color)?;
        return Ok(ExitCode::FAILURE);
    };
    let mut diagnostics = catalog_diagnostics(&host.db, host.db.project()).to_vec();
    sort_and_dedup(&mut diagnostics, &host.db);
    print_diagnostics(&diagnostics, &host.db, color)?;
    if let Err(error) = read.save(&host.root) {
        eprintln!("warning: {error}");
    }
    match args.format {
        DepsFormat::Json => {
            let tables: serde_json::Map<String, serde_json::Value> = read
                .tables
                .iter()
                .map(|(name, table)| {
                    let value = match table {
                        Ok(table) => serde_json::to_value(table).expect("a table serializes"),
                        Err(error) => serde_json::json!({ "error": error }),
                    };
                    (name.clone(), value)
                })
                .collect();
            let document = serde_json::json!({
                "catalog_version": mbt_compiler::contract::catalog::CATALOG_VERSION,
                "target": profile.target,
                "tables": tables,
            });
            outln!("{}", serde_json::to_string_pretty(&document)?);
        }
        DepsFormat::Human => {
            for (name, table) in &read.tables {
                let table = match table {
                    Ok(table) => table,
                    Err(error) => {
                        outln!("{name}: cannot be read: {error}");
                        continue;
                    }
                };
                let rows = table
                    .rows
                    .map_or("? rows".to_string(), |rows| format!("{rows} rows"));
                let Some(columns) = &table.columns else {
                    outln!("{name} ({}): columns not read by this build", table.source);
                    continue;
                };
                outln!(
                    "{name} ({}, {rows}, {} columns)",
                    table.source,
                    columns.len()
                );
                for column in columns {
                    let missing = column
                        .null_share(table.rows)
                        .map_or(String::new(), |share| {
                            format!("{:>6.1}% missing", share * 100.0)
                        });
                    let values = column
                        .values
                        .as_ref()
                        .filter(|values| values.len() <= 6)
                        .map_or(String::new(), |values| format!("  {}", values.join(", ")));
                    outln!(
                        "  {:<24} {:<9} {missing}{values}",
                        column.name,
                        column.dtype.as_str()
                    );
                }
            }
        }
    }
    let state = host.db.project().catalog(&host.db).clone();
    let shown = mbt_host::relative_path(&host.root, &catalog_path(&host.root));
    match &*state {
        CatalogState::Fresh { location } => {
            eprintln!(
                "target `{}`: {} table(s) in {location} read into {shown}",
                profile.target,
                read.tables.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        _ => Ok(ExitCode::FAILURE),
    }
}
