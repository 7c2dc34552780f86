//! The MBT runtime: executes compiled manifests.
//!
//! It reads only `manifest.json` (never pipeline YAML), through the manifest types of
//! `mbt_compiler::manifest`, and never depends on the `lsp` crate. Adapters (frameworks,
//! storage, data connectors, model registries, secrets) are traits in [`adapters`], found by name
//! through one [`adapters::Registry`]; steps live in [`steps`]; [`run`] executes a manifest and
//! writes `run_results.json`.

pub mod adapters;
pub mod error;
pub mod features;
pub mod frame;
pub mod metrics;
pub mod plots;
pub mod python;
pub mod run;
pub mod steps;
pub mod windows;

use std::path::Path;

use mbt_compiler::manifest::{Manifest, MANIFEST_VERSION};

/// Why a manifest could not be used.
#[derive(Debug)]
pub enum ManifestError {
    Read(std::io::Error),
    Parse(serde_json::Error),
    /// Written by a newer or older MBT.
    Version {
        found: u64,
        supported: u32,
    },
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManifestError::Read(error) => write!(f, "cannot read the manifest: {error}"),
            ManifestError::Parse(error) => write!(f, "the manifest is not valid: {error}"),
            ManifestError::Version { found, supported } => write!(
                f,
                "manifest version {found} is not supported (this MBT reads version {supported}); recompile with `mbt compile`"
            ),
        }
    }
}

impl std::error::Error for ManifestError {}

/// Reads a manifest, refusing versions this runtime does not understand.
pub fn load_manifest(path: &Path) -> Result<Manifest, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(ManifestError::Read)?;
    parse_manifest(&text)
}

pub fn parse_manifest(text: &str) -> Result<Manifest, ManifestError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(ManifestError::Parse)?;
    let found = value
        .get("manifest_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(MANIFEST_VERSION) {
        return Err(ManifestError::Version {
            found,
            supported: MANIFEST_VERSION,
        });
    }
    serde_json::from_value(value).map_err(ManifestError::Parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unknown_versions() {
        let error = parse_manifest(r#"{"manifest_version": 99}"#).unwrap_err();
        assert!(matches!(error, ManifestError::Version { found: 99, .. }));
        assert!(matches!(parse_manifest("{"), Err(ManifestError::Parse(_))));
    }
}
