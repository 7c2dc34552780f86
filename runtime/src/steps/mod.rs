//! The step implementations, one function per step of the contract's [`StepConfig`], each from
//! its input artifacts and typed config to its output artifacts. [`run`] matches the config
//! exhaustively: a step added to the contract does not compile here until it is implemented.

mod custom;
mod data;
pub use data::join_feature_tables;

pub use crate::random::SplitMix64;
pub mod fitted;
mod model;
pub use model::ModelArtifact;
mod serving;
mod transforms;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use mbt_contract::manifest::{Manifest, Step, StepConfig};
use polars::prelude::DataFrame;
use serde_json::Value;

use crate::adapters::Adapters;

/// An artifact passed between steps.
#[derive(Clone, Debug)]
pub enum Artifact {
    Frame(DataFrame),
    Json(Value),
    /// A trained model: its JSON form, plus binary bytes for frameworks whose models are files.
    Model(Arc<ModelArtifact>),
}

impl Artifact {
    pub fn frame(&self) -> anyhow::Result<&DataFrame> {
        match self {
            Artifact::Frame(frame) => Ok(frame),
            _ => bail!("expected a table artifact"),
        }
    }

    pub fn json(&self) -> anyhow::Result<&Value> {
        match self {
            Artifact::Json(value) => Ok(value),
            _ => bail!("expected a JSON artifact"),
        }
    }

    pub fn model(&self) -> anyhow::Result<&ModelArtifact> {
        match self {
            Artifact::Model(model) => Ok(model),
            _ => bail!("expected a model artifact"),
        }
    }

    /// The file name extension the artifact is stored with (a model's binary part, if any,
    /// goes beside it as `<name>.model.bin`).
    pub fn extension(&self) -> &'static str {
        match self {
            Artifact::Frame(_) => "parquet",
            Artifact::Json(_) => "json",
            Artifact::Model(_) => "model.json",
        }
    }
}

/// What a step can see.
pub struct StepContext<'a> {
    pub manifest: &'a Manifest,
    pub name: &'a str,
    pub step: &'a Step,
    /// The run's adapters: storage, connector, registry, writer, frameworks.
    pub adapters: &'a Adapters,
    pub project: &'a Path,
    pub run_id: &'a str,
    /// `--vars execution_date=YYYY-MM-DD`; time windows default to the latest partition.
    pub execution_date: Option<chrono::NaiveDate>,
    /// Artifacts by name: the step's inputs.
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

    /// The input at `index` of the step's inputs (their order is the DAG's).
    pub fn input_at(&self, index: usize) -> anyhow::Result<&'a Artifact> {
        let step: &'a Step = self.step;
        let name = step
            .inputs
            .get(index)
            .ok_or_else(|| anyhow::anyhow!("step `{}` has no input {index}", self.name))?;
        self.input(name)
    }

    /// The frame the step reads: its first input.
    pub fn first_frame(&self) -> anyhow::Result<&'a DataFrame> {
        self.input_at(0)?.frame()
    }
}

/// Runs the step; returns its outputs in manifest order.
pub fn run(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let step: &Step = context.step;
    match &step.config {
        StepConfig::LoadData(config) => data::load_data(context, config),
        StepConfig::JoinTables(config) => data::join_tables(context, config),
        StepConfig::ValidateData(config) => data::validate_data(context, config),
        StepConfig::SplitData(config) => data::split_data(context, config),
        StepConfig::Transform(config) => custom::transform(context, config),
        StepConfig::Normalize(config) => transforms::normalize(context, config),
        StepConfig::Encode(config) => transforms::encode(context, config),
        StepConfig::SelectFeatures(config) => transforms::select_features(context, config),
        StepConfig::TrainModel(config) => model::train(context, config),
        StepConfig::Evaluate(config) => model::evaluate(context, config),
        StepConfig::LogRun(config) => model::log_run(context, config),
        StepConfig::LoadModel(config) => serving::load_model(context, config),
        StepConfig::LoadScoringData(config) => serving::load_scoring_data(context, config),
        StepConfig::ApplyTransforms(config) => serving::apply_transforms(context, config),
        StepConfig::Predict(config) => serving::predict(context, config),
        StepConfig::Publish(config) => serving::publish(context, config),
    }
}
