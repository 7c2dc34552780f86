//! The MBT runtime: executes compiled manifests.
//!
//! It reads only `manifest.json` (never pipeline YAML), through the contract's typed manifest
//! (`mbt_contract::manifest`), and never depends on the compiler or the `lsp` crate. Adapters
//! (frameworks, storage, data connectors, model registries, output writers, executors, secrets)
//! are traits in [`adapters`], built from the target's settings by one
//! [`adapters::Registry`]; steps live in [`steps`]; [`run`] executes a manifest and writes
//! `run_results.json`.

pub mod adapters;
pub mod clock;
pub mod digest;
pub mod error;
pub mod features;
pub mod frame;
pub mod git;
pub mod metrics;
pub mod orchestrators;
pub mod plots;
pub mod python;
pub mod random;
pub mod run;
pub mod snapshot;
pub mod steps;
pub mod windows;

use std::path::Path;

use mbt_contract::manifest::{parse_manifest, Manifest, ManifestError};

use crate::error::{coded, Code};

/// Reads a manifest, refusing versions and shapes this runtime does not understand (MBT4016).
pub fn load_manifest(path: &Path) -> anyhow::Result<Manifest> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        coded(
            Code::InvalidManifest,
            format!("cannot read {}: {error}", path.display()),
            "compile the pipeline first: mbt compile PIPELINE",
        )
    })?;
    parse_manifest(&text).map_err(|error| {
        let help = match error {
            ManifestError::Version { .. } => "recompile with this MBT: mbt compile PIPELINE",
            _ => "recompile it with `mbt compile PIPELINE`; manifests are not edited by hand",
        };
        coded(
            Code::InvalidManifest,
            format!("{}: {error}", path.display()),
            help,
        )
    })
}
