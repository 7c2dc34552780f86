//! The step implementations, found by name (`mbt.steps.<name>`), each a function from its
//! input artifacts to its output artifacts.

mod custom;
mod data;
pub use data::join_feature_tables;

pub use data::SplitMix64;
mod model;
mod serving;
mod transforms;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::bail;
use mbt_compiler::manifest::{Manifest, Step};
use polars::prelude::DataFrame;
use serde_json::Value;

use crate::adapters::{DataConnector, ModelRegistry, Registry};

/// An artifact passed between steps.
#[derive(Clone, Debug)]
pub enum Artifact {
    Frame(DataFrame),
    Json(Value),
}

impl Artifact {
    pub fn frame(&self) -> anyhow::Result<&DataFrame> {
        match self {
            Artifact::Frame(frame) => Ok(frame),
            Artifact::Json(_) => bail!("expected a table artifact, found JSON"),
        }
    }

    pub fn json(&self) -> anyhow::Result<&Value> {
        match self {
            Artifact::Json(value) => Ok(value),
            Artifact::Frame(_) => bail!("expected a JSON artifact, found a table"),
        }
    }

    /// The file name extension the artifact is stored with.
    pub fn extension(&self) -> &'static str {
        match self {
            Artifact::Frame(_) => "parquet",
            Artifact::Json(_) => "json",
        }
    }
}

/// What a step can see.
pub struct StepContext<'a> {
    pub manifest: &'a Manifest,
    pub name: &'a str,
    pub step: &'a Step,
    pub registry: &'a Registry,
    pub project: &'a Path,
    pub connector: &'a dyn DataConnector,
    pub model_registry: &'a dyn ModelRegistry,
    pub run_id: &'a str,
    /// `--vars execution_date=YYYY-MM-DD`; time windows default to the latest partition.
    pub execution_date: Option<chrono::NaiveDate>,
    /// Artifacts by name: the step's inputs (and, for log_run, what earlier steps produced).
    pub inputs: &'a BTreeMap<String, Artifact>,
    /// Warnings to show and record (e.g. a validation check in `warn` mode).
    pub warnings: &'a mut Vec<String>,
    /// Metrics the step reports.
    pub metrics: &'a mut BTreeMap<String, f64>,
    /// Extra files (e.g. plots) stored with the step's outputs, by file name.
    pub files: &'a mut Vec<(String, Vec<u8>)>,
}

impl<'a> StepContext<'a> {
    /// An input artifact; borrowed from the run, not from the context, so a step can read
    /// inputs while recording metrics.
    pub fn input(&self, name: &str) -> anyhow::Result<&'a Artifact> {
        let inputs: &'a BTreeMap<String, Artifact> = self.inputs;
        inputs
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("step `{}` is missing its input `{name}`", self.name))
    }

    /// The frame the step reads: its first input.
    pub fn first_frame(&self) -> anyhow::Result<&'a DataFrame> {
        let step: &'a Step = self.step;
        let name = step
            .inputs
            .first()
            .ok_or_else(|| anyhow::anyhow!("step `{}` has no input", self.name))?;
        self.input(name)?.frame()
    }

    pub fn config(&self, key: &str) -> &'a Value {
        let step: &'a Step = self.step;
        step.config.get(key).unwrap_or(&Value::Null)
    }

    /// The training pipeline's `schema` section (null for serving pipelines).
    pub fn training_schema(&self) -> &'a Value {
        let manifest: &'a Manifest = self.manifest;
        manifest
            .pipeline
            .pointer("/training/schema")
            .unwrap_or(&Value::Null)
    }

    /// Columns that are never features: the label, identifiers and ignored columns.
    pub fn non_features(&self) -> Vec<String> {
        let schema = self.training_schema();
        let mut columns: Vec<String> = Vec::new();
        for pointer in [
            "/target/label_column",
            "/identifiers/primary_key",
            "/identifiers/partition_key",
        ] {
            if let Some(name) = schema.pointer(pointer).and_then(Value::as_str) {
                columns.push(name.to_string());
            }
        }
        if let Some(ignored) = schema.get("ignored_columns").and_then(Value::as_array) {
            columns.extend(ignored.iter().filter_map(Value::as_str).map(str::to_string));
        }
        columns
    }

    /// The target's settings for adapter `kind` with secret references resolved (in memory
    /// only: never store or log the result).
    pub fn adapter_settings(&self, kind: &str) -> anyhow::Result<Value> {
        let settings = &self.manifest.profile.config;
        let secrets = self.registry.secrets(&settings["secrets"], self.project)?;
        crate::adapters::resolve_secrets(&settings[kind], secrets.as_ref())
    }

    pub fn label_column(&self) -> Option<String> {
        self.training_schema()
            .pointer("/target/label_column")
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

/// The strings of a JSON array (a config list); anything else is empty.
pub(crate) fn str_items(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// [`str_items`], owned.
pub(crate) fn strings(value: &Value) -> Vec<String> {
    str_items(value).map(str::to_string).collect()
}

/// Runs step `name`; returns its outputs in manifest order.
pub fn run(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    match context.name {
        "load_data" => data::load_data(context),
        "join_tables" => data::join_tables(context),
        "validate_data" => data::validate_data(context),
        "split_data" => data::split_data(context),
        "transform" => custom::transform(context),
        "normalize" => transforms::normalize(context),
        "encode" => transforms::encode(context),
        "select_features" => transforms::select_features(context),
        "train_model" => model::train(context),
        "evaluate" => model::evaluate(context),
        "log_run" => model::log_run(context),
        "load_model" => serving::load_model(context),
        "load_scoring_data" => serving::load_scoring_data(context),
        "apply_transforms" => serving::apply_transforms(context),
        "predict" => serving::predict(context),
        "publish" => serving::publish(context),
        other => bail!("step `{other}` is not implemented by this runtime yet"),
    }
}
