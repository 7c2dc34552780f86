//! The manifest: the versioned contract between the compiler and the runtime.
//!
//! `target/<pipeline>/manifest.json` holds everything the runtime needs and nothing it must not
//! see: secrets appear only as `{{ secret('NAME') }}` references. Its JSON Schema is
//! `schemas/manifest.schema.json`, generated from these types. Identical inputs give
//! byte-identical manifests: maps are ordered and nothing time- or machine-dependent is written.
//!
//! Changelog of `manifest_version`:
//! - 1: first version.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The manifest format version this compiler writes.
pub const MANIFEST_VERSION: u32 = 1;

/// A compiled pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "MBT manifest")]
pub struct Manifest {
    /// Version of this format; the runtime refuses versions it does not know.
    pub manifest_version: u32,
    pub metadata: Metadata,
    /// The steps by name, in execution order.
    pub steps: IndexMap<String, Step>,
    pub dag: DagSection,
    /// The resolved profile and target.
    pub profile: ProfileSection,
    /// The merged, rendered pipeline (defaults applied).
    pub pipeline: Value,
    /// Names of secrets referenced as `{{ secret('NAME') }}`; resolved by the runtime's provider.
    pub secrets: Vec<String>,
    /// Variables used: their compile-time value, or null when they must be given at run time
    /// (their references stay as `{{ var('NAME') }}`).
    pub vars: BTreeMap<String, Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub pipeline_name: String,
    pub pipeline_type: PipelineType,
    /// `binary_classification`, `multiclass_classification` or `regression`.
    pub problem_type: String,
    /// The target (environment) compiled for.
    pub target: String,
    pub profile: String,
    pub schema_version: u32,
    pub mbt_version: String,
    /// Project-relative paths of every file that contributed, the pipeline first.
    pub source_files: Vec<String>,
    /// A hash of the sources and settings: the manifest is stale when it changes.
    pub source_hash: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PipelineType {
    Training,
    Serving,
}

/// One step: what runs, with which configuration, reading and writing which artifacts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The runtime step implementation, e.g. `mbt.steps.train_model`.
    pub plugin: String,
    /// The adapters the step uses, by kind (`framework`, `data_connector`, `model_registry`...).
    pub adapters: BTreeMap<String, String>,
    pub config: Value,
    /// Artifact names read (each written by a step in `depends_on`).
    pub inputs: Vec<String>,
    /// Artifact names written.
    pub outputs: Vec<String>,
    pub depends_on: Vec<String>,
    /// Safe to skip on retry when its outputs exist.
    pub idempotent: bool,
    /// Resources requested from the executor.
    pub resources: Resources,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// e.g. `8Gi`.
    pub memory: Option<String>,
    pub cpu: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DagSection {
    /// A topological order of all steps.
    pub execution_order: Vec<String>,
    /// Groups of steps that may run in parallel, in order.
    pub execution_batches: Vec<Vec<String>>,
    pub parent_map: BTreeMap<String, Vec<String>>,
    pub child_map: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSection {
    pub name: String,
    pub target: String,
    /// The target's settings: executor, storage, data_connector, model_registry,
    /// output_writer, secrets, and optional mlflow / h2o.
    pub config: Value,
}

impl Manifest {
    /// Serializes exactly as written to disk (pretty, trailing newline).
    pub fn to_json_string(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("manifests serialize");
        text.push('\n');
        text
    }
}

/// Parses a memory quantity (`512Mi`, `64Gi`, `2G`, `1000`) into bytes.
pub fn parse_quantity(text: &str) -> Option<u128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let multiplier: f64 = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return None,
    };
    (value >= 0.0).then_some((value * multiplier) as u128)
}

/// A stable 64-bit FNV-1a hash, printed as hex (no dependency, same on every machine).
pub fn stable_hash(parts: &[&[u8]]) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for part in parts {
        for byte in part.iter().chain(&[0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("64Gi"), Some(64 * 1024 * 1024 * 1024));
        assert_eq!(parse_quantity("2G"), Some(2_000_000_000));
        assert_eq!(parse_quantity("1000"), Some(1000));
        assert_eq!(parse_quantity("64 gigs"), None);
        assert!(parse_quantity("512Mi") < parse_quantity("1Gi"));
    }
}
