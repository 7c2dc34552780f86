//! Serving steps: load a training run's model and fitted transforms, replay the transforms on
//! the scoring table, predict, and publish one output row per input row, in input order.

use anyhow::Context;
use polars::prelude::*;
use serde_json::{json, Value};

use super::custom::{apply_custom, hook_context};
use super::model::ModelArtifact;
use super::transforms::{apply_encoder, apply_scaler, apply_selector};
use super::{Artifact, StepContext};
use crate::adapters::{ModelRegistry, TableRequest};
use crate::error::{coded, Code, Coded};
use crate::{frame, windows};

/// The fitted artifacts a training run may have recorded, in the order training applied them.
const FITTED: &[&str] = &[
    "feature_joins",
    "custom_transforms",
    "scaler",
    "encoder",
    "feature_selector",
];

pub fn load_model(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let kind = context.config("registry").as_str().unwrap_or("local");
    let registry = registry_for(context, kind)?;
    let run_id = bound(context.config("run_id"), "run_id")?;
    let (run_id, record) = match registry.load_run(&run_id) {
        Ok(record) => (run_id, record),
        Err(error) => match context
            .config("fallback_run_id")
            .as_str()
            .filter(|f| !f.is_empty() && !f.contains("{{"))
        {
            Some(fallback) => {
                context
                    .warnings
                    .push(format!("{error:#}; using fallback run `{fallback}`"));
                (fallback.to_string(), registry.load_run(fallback)?)
            }
            None => return Err(error),
        },
    };
    let model: Value = serde_json::from_slice(&registry.load_artifact(&run_id, "model.json")?)
        .context("the run's model is not valid JSON")?;
    let mut fitted = serde_json::Map::new();
    for name in FITTED {
        if let Ok(bytes) = registry.load_artifact(&run_id, &format!("{name}.json")) {
            fitted.insert(
                name.to_string(),
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("the run's {name} is not valid JSON"))?,
            );
        }
    }
    fitted.insert("run_id".into(), json!(run_id));
    // The training schema: the partition key for lookback windows, and the hooks' context.
    fitted.insert(
        "schema".into(),
        record.params.get("schema").cloned().unwrap_or(Value::Null),
    );
    Ok(vec![
        Artifact::Json(model),
        Artifact::Json(Value::Object(fitted)),
    ])
}

/// A value that may still hold an unbound `{{ var('NAME') }}` reference.
fn bound(value: &Value, what: &str) -> anyhow::Result<String> {
    let text = value
        .as_str()
        .with_context(|| format!("`{what}` is not set"))?;
    if text.contains("{{") {
        return Err(coded(
            Code::RunVarMissing,
            format!("`{what}` is `{text}`, a variable that was not given"),
            "pass `--vars NAME=VALUE` to `mbt run`",
        ));
    }
    Ok(text.to_string())
}

fn registry_for(context: &StepContext<'_>, kind: &str) -> anyhow::Result<Box<dyn ModelRegistry>> {
    let profile = context.adapter_settings("model_registry")?;
    let settings = if profile["type"].as_str() == Some(kind) {
        profile
    } else {
        json!({"type": kind})
    };
    context.registry.model_registry(&settings, context.project)
}

pub fn load_scoring_data(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let table = context
        .config("scoring_table")
        .as_str()
        .context("load_scoring_data needs `scoring_table`")?;
    let fitted = context.input("fitted_transforms")?.json()?;
    let lookback = context.config("lookback_window");
    let key = if lookback.is_null() {
        None
    } else {
        Some(
            fitted
                .pointer("/schema/identifiers/partition_key")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    coded(
                        Code::EmptyWindow,
                        format!(
                            "lookback_window needs the partition key, and training run `{}` records none",
                            fitted["run_id"].as_str().unwrap_or_default()
                        ),
                        "set schema.identifiers.partition_key in the training pipeline and train again",
                    )
                })?,
        )
    };
    // With an execution date the connector reads only the window's rows; without one the date
    // is derived from the data, so every row is read and filtered below.
    let mut request = TableRequest::table(table);
    if let (Some(key), Some(date)) = (key, context.execution_date) {
        if let Some(range) = windows::lookback_range(lookback, date)? {
            request.date_range = Some((key, range));
        }
    }
    let mut frame = context.connector.read(&request)?;
    // The feature tables training joined onto its label table.
    if let Some(joins) = fitted
        .pointer("/feature_joins/joins")
        .and_then(Value::as_array)
    {
        frame = super::join_feature_tables(frame, joins, context.connector, true)?;
    }
    let Some(key) = key else {
        return Ok(vec![Artifact::Frame(frame)]);
    };
    let (kept, execution_date, range) =
        windows::filter(&frame, key, context.execution_date, |date| {
            windows::lookback_range(lookback, date)
        })?
        .context("lookback_window sets no window")?;
    if context.execution_date.is_none() {
        context.warnings.push(format!(
            "no --vars execution_date given: using the latest `{key}` in the data, {execution_date}; the lookback {range} keeps {} of {} rows",
            kept.height(),
            frame.height()
        ));
    }
    Ok(vec![Artifact::Frame(kept)])
}

pub fn apply_transforms(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let mut frame = context.input("scoring_data")?.frame()?.clone();
    let fitted = context.input("fitted_transforms")?.json()?;
    // The training order: custom transforms, normalize, encode, select.
    if let Some(entries) = fitted
        .pointer("/custom_transforms/transforms")
        .and_then(Value::as_array)
    {
        let hook_context = hook_context(context, "serving", &fitted["schema"]);
        frame = apply_custom(frame, entries, context.project, &hook_context)?;
    }
    if let Some(scaler) = fitted.get("scaler") {
        frame = apply_scaler(frame, scaler)?;
    }
    if let Some(encoder) = fitted.get("encoder") {
        frame = apply_encoder(frame, encoder)?;
    }
    if let Some(selector) = fitted.get("feature_selector") {
        frame = apply_selector(frame, selector)?;
    }
    Ok(vec![Artifact::Frame(frame)])
}

pub fn predict(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let model: ModelArtifact = serde_json::from_value(context.input("model")?.json()?.clone())
        .context("invalid model artifact")?;
    let features = context.input("features")?.frame()?;
    let x = model
        .layout
        .matrix(features)
        .context("the scoring data does not match the training columns")
        .code(
            Code::ScoringMismatch,
            "score a table with the training table's columns and types",
        )?;
    let framework = context.registry.framework(&model.model.framework)?;
    let scores = framework.predict(&model.model, &x)?;
    if model.classes.is_some() {
        let predictions = super::model::class_predictions(features, &model, &scores)?;
        context.metrics.insert("scored_rows".into(), x.rows as f64);
        return Ok(vec![Artifact::Frame(predictions)]);
    }
    let mut predictions = DataFrame::default();
    if let Some(key) = model
        .primary_key
        .as_deref()
        .filter(|key| features.column(key).is_ok())
    {
        predictions.with_column(features.column(key)?.clone())?;
    }
    frame::with_column(&mut predictions, "score", scores)?;
    context.metrics.insert("scored_rows".into(), x.rows as f64);
    Ok(vec![Artifact::Frame(predictions)])
}

pub fn publish(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let predictions = context.input("predictions")?.frame()?;
    let columns = context.config("columns");
    let prediction_name = columns["prediction"].as_str().unwrap_or("prediction");
    let threshold = columns["threshold"].as_f64().unwrap_or(0.5);
    let scores = frame::numbers(predictions, "score")?;
    let mut output = predictions.drop("score")?;
    frame::with_column(&mut output, prediction_name, scores.clone())?;
    // Multiclass: the label is the most probable class (no threshold).
    if let Ok(class) = output.column("class").cloned() {
        output = output.drop("class")?;
        let label = columns["label"].as_str().unwrap_or("predicted_class");
        output.with_column(class.with_name(label.into()))?;
        // Key, probability and class first; the per-class probabilities after.
        let mut order: Vec<String> = frame::names(&output)
            .into_iter()
            .filter(|name| {
                !name.starts_with("probability_") && name != prediction_name && name != label
            })
            .collect();
        order.extend([prediction_name.to_string(), label.to_string()]);
        order.extend(
            frame::names(&output)
                .into_iter()
                .filter(|name| name.starts_with("probability_")),
        );
        output = output.select(order)?;
    } else if let Some(label) = columns["label"].as_str() {
        let labels: Vec<i64> = scores.iter().map(|s| i64::from(*s >= threshold)).collect();
        output.with_column(Column::new(label.into(), labels))?;
    }
    let table = context
        .config("table")
        .as_str()
        .context("publish needs `table`")?;
    // The target's output writer, else the one the pipeline names (`output.destination`).
    let profile = context.adapter_settings("output_writer")?;
    let settings = if profile.get("type").is_some() {
        profile
    } else {
        json!({"type": context.config("destination").as_str().unwrap_or("local_file")})
    };
    let writer = context.registry.output_writer(&settings, context.project)?;
    let uri = writer.write(table, &output)?;
    context
        .metrics
        .insert("published_rows".into(), output.height() as f64);
    Ok(vec![Artifact::Json(
        json!({"uri": uri, "rows": output.height()}),
    )])
}
