//! What the feature steps fit on the train set and serving replays, as typed JSON artifacts:
//! the scaler, the encoder, the feature selection, the validation report, and what a training
//! run hands to serving (joins, custom transforms and the fitted transforms together).

use mbt_contract::manifest::Join;
use mbt_contract::pipeline::{CustomTransform, EncodingMethod, OnFailure, ScalerMethod, Schema};
use serde::{Deserialize, Serialize};

use super::Artifact;

/// `normalize`'s `scaler`: `(value - center) / scale` per column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedScaler {
    pub method: ScalerMethod,
    pub columns: Vec<ScaledColumn>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaledColumn {
    pub column: String,
    pub center: f64,
    pub scale: f64,
}

/// `encode`'s `encoder`: each text column's categories seen in the train set, sorted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedEncoder {
    pub method: EncodingMethod,
    pub columns: Vec<EncodedColumn>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncodedColumn {
    pub column: String,
    pub categories: Vec<String>,
}

/// `select_features`'s `feature_selector`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedSelector {
    pub kept: Vec<String>,
    pub dropped: Vec<String>,
}

/// `validate_data`'s `validation_report`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub checks: Vec<CheckOutcome>,
    pub on_failure: OnFailure,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check's `type`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub passed: bool,
    pub message: Option<String>,
    pub failed_rows: usize,
}

/// The feature joins a training run recorded (`feature_joins.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedJoins {
    pub joins: Vec<Join>,
}

/// The custom transforms a training run recorded (`custom_transforms.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedTransforms {
    pub transforms: Vec<CustomTransform>,
}

/// Everything serving replays from a training run, in the order training applied it
/// (`load_model`'s `fitted_transforms`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedTransforms {
    pub run_id: String,
    /// The training schema: the partition key of lookback windows, and the hooks' context.
    pub schema: Option<Schema>,
    #[serde(default)]
    pub joins: Vec<Join>,
    #[serde(default)]
    pub custom_transforms: Vec<CustomTransform>,
    pub scaler: Option<FittedScaler>,
    pub encoder: Option<FittedEncoder>,
    pub selector: Option<FittedSelector>,
}

/// A typed JSON artifact.
pub fn read<T: serde::de::DeserializeOwned>(artifact: &Artifact, what: &str) -> anyhow::Result<T> {
    use anyhow::Context;
    serde_json::from_value(artifact.json()?.clone()).with_context(|| format!("invalid {what}"))
}

/// A typed value as a JSON artifact.
pub fn write<T: Serialize>(value: &T) -> anyhow::Result<Artifact> {
    Ok(Artifact::Json(serde_json::to_value(value)?))
}
