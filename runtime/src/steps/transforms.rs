//! Feature steps, each fitted on the train set and applied to both sets: scaling, encoding and
//! selection. Their fitted parameters are JSON artifacts that serving replays.

use anyhow::{bail, Context};
use polars::prelude::*;
use serde_json::{json, Value};

use super::{Artifact, StepContext};
use crate::adapters::Task;
use crate::features::FeatureLayout;
use crate::frame;

fn train_test<'a>(context: &StepContext<'a>) -> anyhow::Result<(&'a DataFrame, &'a DataFrame)> {
    let step: &'a mbt_compiler::manifest::Step = context.step;
    let [train, test] = step.inputs.as_slice() else {
        bail!("step `{}` expects a train and a test input", context.name);
    };
    Ok((
        context.input(train)?.frame()?,
        context.input(test)?.frame()?,
    ))
}

/// Feature columns of the train set whose type passes `keep`, or the configured columns.
fn feature_columns(
    context: &StepContext<'_>,
    train: &DataFrame,
    keep: impl Fn(&DataType) -> bool,
) -> Vec<String> {
    if context.config("columns").is_array() {
        return super::strings(context.config("columns"));
    }
    let excluded = context.non_features();
    train
        .columns()
        .iter()
        .filter(|column| {
            !excluded.iter().any(|e| e == column.name().as_str()) && keep(column.dtype())
        })
        .map(|column| column.name().to_string())
        .collect()
}

pub fn normalize(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let (train, test) = train_test(context)?;
    let method = context
        .config("method")
        .as_str()
        .unwrap_or("standard_scaler")
        .to_string();
    let columns = feature_columns(context, train, |dtype| {
        dtype.is_float() || dtype.is_integer()
    });
    let mut fitted = Vec::new();
    for column in &columns {
        let values: Vec<f64> = frame::numbers(train, column)?
            .into_iter()
            .filter(|v| !v.is_nan())
            .collect();
        let (center, scale) = scaler(&method, values);
        fitted.push(json!({"column": column, "center": center, "scale": scale}));
    }
    let fitted = json!({"method": method, "columns": fitted});
    let (train, test) = (
        apply_scaler(train.clone(), &fitted)?,
        apply_scaler(test.clone(), &fitted)?,
    );
    Ok(vec![
        Artifact::Frame(train),
        Artifact::Frame(test),
        Artifact::Json(fitted),
    ])
}

/// Applies a fitted scaler (the `scaler` artifact). Training and serving both call this, so
/// the served features are computed exactly as the trained ones.
pub fn apply_scaler(mut frame: DataFrame, fitted: &Value) -> anyhow::Result<DataFrame> {
    for column in fitted["columns"].as_array().into_iter().flatten() {
        let name = column["column"].as_str().unwrap_or_default();
        let (center, scale) = (
            column["center"].as_f64().unwrap_or(0.0),
            column["scale"].as_f64().unwrap_or(1.0),
        );
        let values = frame::numbers(&frame, name)
            .with_context(|| format!("cannot scale `{name}` as in training"))?;
        frame::with_column(
            &mut frame,
            name,
            values.into_iter().map(|v| (v - center) / scale).collect(),
        )?;
    }
    Ok(frame)
}

/// (center, scale) of a scaler fitted on `values`; a constant column keeps scale 1.
fn scaler(method: &str, mut values: Vec<f64>) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 1.0);
    }
    let n = values.len() as f64;
    let (center, scale) = match method {
        "min_max_scaler" => {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (min, max - min)
        }
        "robust_scaler" => {
            values.sort_by(f64::total_cmp);
            let quantile = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
            (quantile(0.5), quantile(0.75) - quantile(0.25))
        }
        _ => {
            let mean = values.iter().sum::<f64>() / n;
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            (mean, variance.sqrt())
        }
    };
    (
        center,
        if scale > 0.0 && scale.is_finite() {
            scale
        } else {
            1.0
        },
    )
}

pub fn encode(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let (train, test) = train_test(context)?;
    let method = context
        .config("method")
        .as_str()
        .unwrap_or("one_hot")
        .to_string();
    let columns = feature_columns(context, train, |dtype| *dtype == DataType::String);
    let mut fitted = Vec::new();
    for column in &columns {
        let categories = frame::distinct_texts(train, column)?;
        fitted.push(json!({"column": column, "categories": categories}));
    }
    let fitted = json!({"method": method, "columns": fitted});
    let (train, test) = (
        apply_encoder(train.clone(), &fitted)?,
        apply_encoder(test.clone(), &fitted)?,
    );
    Ok(vec![
        Artifact::Frame(train),
        Artifact::Frame(test),
        Artifact::Json(fitted),
    ])
}

/// Applies a fitted encoder (the `encoder` artifact); unseen categories become all-zero
/// indicators (one-hot) or missing (ordinal).
pub fn apply_encoder(mut frame: DataFrame, fitted: &Value) -> anyhow::Result<DataFrame> {
    let ordinal = fitted["method"].as_str() == Some("ordinal");
    for column in fitted["columns"].as_array().into_iter().flatten() {
        let name = column["column"].as_str().unwrap_or_default();
        let categories: Vec<String> = super::strings(&column["categories"]);
        let values = frame::text_view(&frame, name)
            .with_context(|| format!("cannot encode `{name}` as in training"))?;
        if ordinal {
            let codes = values
                .iter()
                .map(|v| {
                    v.and_then(|v| categories.binary_search_by(|c| c.as_str().cmp(v)).ok())
                        .map_or(f64::NAN, |c| c as f64)
                })
                .collect();
            frame::with_column(&mut frame, name, codes)?;
        } else {
            // Boolean indicators (one bit each, read as 0/1 by the feature layout), not f64:
            // wide one-hot tables stay small.
            for category in &categories {
                let indicator: Vec<bool> = values
                    .iter()
                    .map(|v| v == Some(category.as_str()))
                    .collect();
                frame.with_column(Column::new(format!("{name}={category}").into(), indicator))?;
            }
            frame = frame.drop(name)?;
        }
    }
    Ok(frame)
}

/// Applies a fitted feature selection (the `feature_selector` artifact).
pub fn apply_selector(mut frame: DataFrame, fitted: &Value) -> anyhow::Result<DataFrame> {
    for column in super::str_items(&fitted["dropped"]) {
        if frame.column(column).is_ok() {
            frame = frame.drop(column)?;
        }
    }
    Ok(frame)
}

pub fn select_features(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let (train, test) = train_test(context)?;
    let excluded = context.non_features();
    let label = context
        .label_column()
        .context("select_features needs a label column")?;
    let mut layout = FeatureLayout::fit(train, &excluded)?;
    let mut dropped: Vec<String> = Vec::new();
    for method in context
        .config("methods")
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let threshold = method["threshold"].as_f64().unwrap_or(0.95);
        let keep: Vec<bool> = match method["name"].as_str().unwrap_or_default() {
            "gbm_importance" => {
                let x = layout.matrix(train)?;
                let positive = positive_class(context);
                let (y, task) =
                    if context.manifest.metadata.problem_type == "multiclass_classification" {
                        let classes = crate::features::class_names(train, &label, &Value::Null)?;
                        let y = crate::features::class_indices(train, &label, &classes)?;
                        (
                            y.into_iter().map(|c| c as f64).collect(),
                            Task::Multiclass(classes.len()),
                        )
                    } else {
                        let y = crate::features::labels(train, &label, positive.as_deref())?;
                        let task = if positive.is_some() {
                            Task::Binary
                        } else {
                            Task::Regression
                        };
                        (y, task)
                    };
                let gbm = context.registry.framework("gbm")?;
                let model = gbm.train(
                    &x,
                    &y,
                    task,
                    &json!({"n_estimators": 50, "learning_rate": 0.1, "max_depth": 4, "seed": 42}),
                )?;
                let importance = gbm.feature_importance(&model, x.columns)?;
                // Keep the most important features until their share reaches the threshold.
                let mut order: Vec<usize> = (0..importance.len()).collect();
                order.sort_by(|a, b| importance[*b].total_cmp(&importance[*a]).then(a.cmp(b)));
                let total: f64 = importance.iter().sum::<f64>().max(f64::MIN_POSITIVE);
                let mut keep = vec![false; importance.len()];
                let mut cumulative = 0.0;
                for index in order {
                    if cumulative >= threshold * total {
                        break;
                    }
                    keep[index] = true;
                    cumulative += importance[index];
                }
                keep
            }
            "correlation" => {
                let x = layout.matrix(train)?;
                let mut keep = vec![true; x.columns];
                for later in 0..x.columns {
                    for earlier in 0..later {
                        if keep[earlier]
                            && correlation(x.column(earlier), x.column(later)).abs() > threshold
                        {
                            keep[later] = false;
                            break;
                        }
                    }
                }
                keep
            }
            other => bail!("unknown feature selection method `{other}`"),
        };
        let (kept, removed): (Vec<_>, Vec<_>) = layout
            .columns
            .into_iter()
            .zip(keep)
            .partition(|(_, keep)| *keep);
        dropped.extend(
            removed
                .into_iter()
                .map(|(column, _)| column.name().to_string()),
        );
        layout.columns = kept.into_iter().map(|(column, _)| column).collect();
    }
    let fitted = json!({"kept": layout.names(), "dropped": dropped});
    let (train, test) = (
        apply_selector(train.clone(), &fitted)?,
        apply_selector(test.clone(), &fitted)?,
    );
    context
        .metrics
        .insert("selected_features".into(), layout.columns.len() as f64);
    Ok(vec![
        Artifact::Frame(train),
        Artifact::Frame(test),
        Artifact::Json(json!({"kept": layout.names(), "dropped": dropped})),
    ])
}

pub fn positive_class(context: &StepContext<'_>) -> Option<String> {
    let problem = context.manifest.metadata.problem_type.as_str();
    if problem != "binary_classification" {
        return None;
    }
    match context.training_schema().pointer("/target/positive_class") {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => Some("1".into()),
        Some(other) => Some(other.to_string()),
    }
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(x, y)| (*x, *y))
        .collect();
    let n = pairs.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mean_a, mean_b) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        cov += (x - mean_a) * (y - mean_b);
        var_a += (x - mean_a).powi(2);
        var_b += (y - mean_b).powi(2);
    }
    if var_a == 0.0 || var_b == 0.0 {
        0.0
    } else {
        cov / (var_a * var_b).sqrt()
    }
}
