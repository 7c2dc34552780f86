//! Serving steps: load a training run's model and fitted transforms, replay the transforms on
//! the scoring table, predict, and publish one output row per input row, in input order.

use std::sync::Arc;

use anyhow::Context;
use mbt_contract::manifest::{ApplyTransforms, LoadModel, LoadScoringData, Predict, Publish};
use polars::prelude::*;
use serde_json::json;

use super::custom::{apply_custom, hook_context};
use super::fitted::{
    self, FittedEncoder, FittedScaler, FittedSelector, FittedTransforms, RecordedJoins,
    RecordedTransforms,
};
use super::model::ModelArtifact;
use super::transforms::{apply_encoder, apply_scaler, apply_selector};
use super::{Artifact, StepContext};
use crate::adapters::registry::Registered;
use crate::adapters::{ModelRegistry, TableRequest};
use crate::error::{coded, Code, Coded};
use crate::snapshot::{resolve_run, SnapshotRegistry};
use crate::{frame, windows};

pub fn load_model(
    context: &mut StepContext<'_>,
    config: &LoadModel,
) -> anyhow::Result<Vec<Artifact>> {
    let LoadModel {
        registry,
        run_id: _,
        registered_model: _,
        fallback_run_id,
        training_pipeline: _,
        experiment_name: _,
        artifact_snapshot,
        snapshot,
    } = config;
    // A snapshot taken at compile time is the run: its files, their hashes checked.
    let (registry, run_id) = match (snapshot, artifact_snapshot) {
        (Some(snapshot), _) => (
            Registered::Own(
                Box::new(SnapshotRegistry::new(context.project, snapshot)) as Box<dyn ModelRegistry>
            ),
            snapshot.run_id.clone(),
        ),
        (None, true) => {
            return Err(coded(
                Code::InvalidManifest,
                "the manifest asks for an artifact snapshot but holds none",
                "compile it with `mbt compile PIPELINE` (or run it with `mbt run`), which takes the snapshot",
            ))
        }
        (None, false) => {
            let registry = context.adapters.registry_named(registry)?;
            let run_id = resolve_run(config, &*registry, context.warnings)?;
            (registry, run_id)
        }
    };
    let (run_id, record) = match registry.load_run(&run_id) {
        Ok(record) => (run_id, record),
        Err(error) => match fallback_run_id
            .as_deref()
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
    let mut model: ModelArtifact =
        serde_json::from_slice(&registry.load_artifact(&run_id, "model.json")?)
            .context("the run's model is not a model artifact")
            .code(Code::RunNotFound, "the run is incomplete: train it again")?;
    if let Some(length) = model.model.binary_len {
        let bytes = registry.load_artifact(&run_id, "model.bin")?;
        if bytes.len() as u64 != length {
            return Err(coded(
                Code::RunNotFound,
                format!(
                    "the run's model.bin has {} bytes, its model.json says {length}",
                    bytes.len()
                ),
                "the run's artifacts were changed or truncated: train it again",
            ));
        }
        model.model.binary = Some(Arc::new(bytes));
    }
    let optional = |name: &str| -> anyhow::Result<Option<serde_json::Value>> {
        match registry.load_artifact(&run_id, &format!("{name}.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("the run's {name} is not valid JSON"))
                .map(Some),
            Err(_) => Ok(None),
        }
    };
    let joins: Option<RecordedJoins> = optional("feature_joins")?
        .map(serde_json::from_value)
        .transpose()
        .context("the run's feature_joins are not valid")?;
    let transforms: Option<RecordedTransforms> = optional("custom_transforms")?
        .map(serde_json::from_value)
        .transpose()
        .context("the run's custom_transforms are not valid")?;
    let scaler: Option<FittedScaler> = optional("scaler")?
        .map(serde_json::from_value)
        .transpose()
        .context("the run's scaler is not valid")?;
    let encoder: Option<FittedEncoder> = optional("encoder")?
        .map(serde_json::from_value)
        .transpose()
        .context("the run's encoder is not valid")?;
    let selector: Option<FittedSelector> = optional("feature_selector")?
        .map(serde_json::from_value)
        .transpose()
        .context("the run's feature_selector is not valid")?;
    let fitted = FittedTransforms {
        run_id: run_id.clone(),
        // The training schema: the partition key for lookback windows, and the hooks' context.
        schema: record
            .params
            .get("schema")
            .map(|schema| serde_json::from_value(schema.clone()))
            .transpose()
            .context("the run's recorded schema is not valid")?,
        joins: joins.unwrap_or_default().joins,
        custom_transforms: transforms.unwrap_or_default().transforms,
        scaler,
        encoder,
        selector,
    };
    Ok(vec![
        Artifact::Model(Arc::new(model)),
        fitted::write(&fitted)?,
    ])
}

pub fn load_scoring_data(
    context: &mut StepContext<'_>,
    config: &LoadScoringData,
) -> anyhow::Result<Vec<Artifact>> {
    let LoadScoringData {
        scoring_table,
        lookback_window,
    } = config;
    let table = scoring_table.as_str();
    let fitted: FittedTransforms =
        fitted::read(context.input("fitted_transforms")?, "fitted transforms")?;
    let lookback = lookback_window.as_ref();
    let partition_key = fitted
        .schema
        .as_ref()
        .and_then(|schema| schema.identifiers.as_ref())
        .and_then(|identifiers| identifiers.partition_key.as_deref());
    let key = match lookback {
        None => None,
        Some(_) => Some(partition_key.ok_or_else(|| {
            coded(
                Code::EmptyWindow,
                format!(
                    "lookback_window needs the partition key, and training run `{}` records none",
                    fitted.run_id
                ),
                "set schema.identifiers.partition_key in the training pipeline and train again",
            )
        })?),
    };
    // With an execution date the connector reads only the window's rows; without one the date
    // is derived from the data, so every row is read and filtered below.
    let mut request = TableRequest::table(table);
    if let (Some(key), Some(date)) = (key, context.execution_date) {
        if let Some(range) = windows::lookback_range(lookback, date)? {
            request.date_range = Some((key, range));
        }
    }
    let connector = context.adapters.connector.as_ref();
    let mut frame = connector.read(&request)?;
    // The feature tables training joined onto its label table.
    if !fitted.joins.is_empty() {
        frame = super::join_feature_tables(frame, &fitted.joins, connector, true)?;
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

pub fn apply_transforms(
    context: &mut StepContext<'_>,
    config: &ApplyTransforms,
) -> anyhow::Result<Vec<Artifact>> {
    let ApplyTransforms {} = config; // what to apply is the training run's, not the pipeline's
    let mut frame = context.input("scoring_data")?.frame()?.clone();
    let fitted: FittedTransforms =
        fitted::read(context.input("fitted_transforms")?, "fitted transforms")?;
    // The training order: custom transforms, normalize, encode, select.
    if !fitted.custom_transforms.is_empty() {
        let hook_context = hook_context(context, "serving", fitted.schema.as_ref());
        frame = apply_custom(
            frame,
            &fitted.custom_transforms,
            context.project,
            &hook_context,
        )?;
    }
    if let Some(scaler) = &fitted.scaler {
        frame = apply_scaler(frame, scaler)?;
    }
    if let Some(encoder) = &fitted.encoder {
        frame = apply_encoder(frame, encoder)?;
    }
    if let Some(selector) = &fitted.selector {
        frame = apply_selector(frame, selector)?;
    }
    Ok(vec![Artifact::Frame(frame)])
}

pub fn predict(context: &mut StepContext<'_>, config: &Predict) -> anyhow::Result<Vec<Artifact>> {
    let Predict {} = config; // the model knows its problem type and classes
    let model = context.input("model")?.model()?;
    let features = context.input("features")?.frame()?;
    let x = model
        .layout
        .matrix(features)
        .context("the scoring data does not match the training columns")
        .code(
            Code::ScoringMismatch,
            "score a table with the training table's columns and types",
        )?;
    let framework = context.adapters.frameworks.get(&model.model.framework)?;
    let scores = framework.predict(&model.model, &x)?;
    if model.classes.is_some() {
        let predictions = super::model::class_predictions(features, model, &scores)?;
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

pub fn publish(context: &mut StepContext<'_>, config: &Publish) -> anyhow::Result<Vec<Artifact>> {
    let Publish {
        destination,
        table,
        columns,
    } = config;
    let predictions = context.input("predictions")?.frame()?;
    let prediction_name = columns.prediction.as_str();
    let threshold = columns.threshold;
    let scores = frame::numbers(predictions, "score")?;
    let mut output = predictions.drop("score")?;
    frame::with_column(&mut output, prediction_name, scores.clone())?;
    // Multiclass: the label is the most probable class (no threshold).
    if let Ok(class) = output.column("class").cloned() {
        output = output.drop("class")?;
        let label = columns.label.as_deref().unwrap_or("predicted_class");
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
    } else if let Some(label) = columns.label.as_deref() {
        let labels: Vec<i64> = scores.iter().map(|s| i64::from(*s >= threshold)).collect();
        output.with_column(Column::new(label.into(), labels))?;
    }
    // The writer the pipeline names, with the target's settings when the target sets it.
    let writer = context.adapters.writer_named(destination)?;
    let uri = writer.write(table, &output, context.run_id)?;
    context
        .metrics
        .insert("published_rows".into(), output.height() as f64);
    Ok(vec![Artifact::Json(
        json!({"uri": uri, "rows": output.height()}),
    )])
}
