//! Feature steps, each fitted on the train set and applied to both sets: scaling, encoding and
//! selection. Their fitted parameters are JSON artifacts that serving replays.

use anyhow::Context;
use mbt_contract::frameworks::{FrameworkConfig, GbmConfig};
use mbt_contract::manifest::{Encode, Normalize, Roles, SelectFeatures, Selection};
use mbt_contract::pipeline::{ClassLabel, EncodingMethod, ProblemType, ScalerMethod};
use polars::prelude::*;

use super::fitted::{
    self, EncodedColumn, FittedEncoder, FittedScaler, FittedSelector, ScaledColumn,
};
use super::{Artifact, StepContext};
use crate::adapters::Task;
use crate::features::FeatureLayout;
use crate::frame;

fn train_test<'a>(context: &StepContext<'a>) -> anyhow::Result<(&'a DataFrame, &'a DataFrame)> {
    Ok((context.input_at(0)?.frame()?, context.input_at(1)?.frame()?))
}

/// Feature columns of the train set whose type passes `keep`, or the configured columns.
fn feature_columns(
    columns: Option<&[String]>,
    roles: &Roles,
    train: &DataFrame,
    keep: impl Fn(&DataType) -> bool,
) -> Vec<String> {
    if let Some(columns) = columns {
        return columns.to_vec();
    }
    let excluded = roles.non_features();
    train
        .columns()
        .iter()
        .filter(|column| {
            !excluded.iter().any(|e| e == column.name().as_str()) && keep(column.dtype())
        })
        .map(|column| column.name().to_string())
        .collect()
}

pub fn normalize(
    context: &mut StepContext<'_>,
    config: &Normalize,
) -> anyhow::Result<Vec<Artifact>> {
    let Normalize {
        method,
        columns,
        roles,
    } = config;
    let (train, test) = train_test(context)?;
    let columns = feature_columns(columns.as_deref(), roles, train, |dtype| {
        dtype.is_float() || dtype.is_integer()
    });
    let mut fitted = FittedScaler {
        method: *method,
        columns: Vec::new(),
    };
    for column in &columns {
        let values: Vec<f64> = frame::numbers(train, column)?
            .into_iter()
            .filter(|v| !v.is_nan())
            .collect();
        let (center, scale) = scaler(*method, values);
        fitted.columns.push(ScaledColumn {
            column: column.clone(),
            center,
            scale,
        });
    }
    let (train, test) = (
        apply_scaler(train.clone(), &fitted)?,
        apply_scaler(test.clone(), &fitted)?,
    );
    Ok(vec![
        Artifact::Frame(train),
        Artifact::Frame(test),
        fitted::write(&fitted)?,
    ])
}

/// Applies a fitted scaler (the `scaler` artifact). Training and serving both call this, so
/// the served features are computed exactly as the trained ones.
pub fn apply_scaler(mut frame: DataFrame, fitted: &FittedScaler) -> anyhow::Result<DataFrame> {
    for column in &fitted.columns {
        let name = column.column.as_str();
        let (center, scale) = (column.center, column.scale);
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
fn scaler(method: ScalerMethod, mut values: Vec<f64>) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 1.0);
    }
    let n = values.len() as f64;
    let (center, scale) = match method {
        ScalerMethod::MinMaxScaler => {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (min, max - min)
        }
        ScalerMethod::RobustScaler => {
            values.sort_by(f64::total_cmp);
            let quantile = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
            (quantile(0.5), quantile(0.75) - quantile(0.25))
        }
        ScalerMethod::StandardScaler => {
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

pub fn encode(context: &mut StepContext<'_>, config: &Encode) -> anyhow::Result<Vec<Artifact>> {
    let Encode {
        method,
        columns,
        roles,
    } = config;
    let (train, test) = train_test(context)?;
    let columns = feature_columns(columns.as_deref(), roles, train, |dtype| {
        *dtype == DataType::String
    });
    let mut fitted = FittedEncoder {
        method: *method,
        columns: Vec::new(),
    };
    for column in &columns {
        fitted.columns.push(EncodedColumn {
            column: column.clone(),
            categories: frame::distinct_texts(train, column)?,
        });
    }
    let (train, test) = (
        apply_encoder(train.clone(), &fitted)?,
        apply_encoder(test.clone(), &fitted)?,
    );
    Ok(vec![
        Artifact::Frame(train),
        Artifact::Frame(test),
        fitted::write(&fitted)?,
    ])
}

/// Applies a fitted encoder (the `encoder` artifact); unseen categories become all-zero
/// indicators (one-hot) or missing (ordinal).
pub fn apply_encoder(mut frame: DataFrame, fitted: &FittedEncoder) -> anyhow::Result<DataFrame> {
    let ordinal = fitted.method == EncodingMethod::Ordinal;
    for column in &fitted.columns {
        let name = column.column.as_str();
        let categories = &column.categories;
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
            for category in categories {
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
pub fn apply_selector(mut frame: DataFrame, fitted: &FittedSelector) -> anyhow::Result<DataFrame> {
    for column in &fitted.dropped {
        if frame.column(column).is_ok() {
            frame = frame.drop(column)?;
        }
    }
    Ok(frame)
}

pub fn select_features(
    context: &mut StepContext<'_>,
    config: &SelectFeatures,
) -> anyhow::Result<Vec<Artifact>> {
    let SelectFeatures {
        methods,
        problem_type,
        positive_class: positive,
        roles,
    } = config;
    let (train, test) = train_test(context)?;
    let excluded = roles.non_features();
    let label = roles
        .label_column
        .as_deref()
        .context("select_features needs a label column")?;
    let mut layout = FeatureLayout::fit(train, &excluded)?;
    let mut dropped: Vec<String> = Vec::new();
    for method in methods {
        let keep: Vec<bool> = match method {
            Selection::GbmImportance { threshold } => {
                let x = layout.matrix(train)?;
                let (y, task) = match problem_type {
                    ProblemType::MulticlassClassification => {
                        let classes = crate::features::class_names(train, label, None)?;
                        let y = crate::features::class_indices(train, label, &classes)?;
                        (
                            y.into_iter().map(|c| c as f64).collect(),
                            Task::Multiclass(classes.len()),
                        )
                    }
                    ProblemType::BinaryClassification => {
                        let positive = positive_class(*problem_type, positive.as_ref());
                        let y = crate::features::labels(train, label, positive.as_deref())?;
                        (y, Task::Binary)
                    }
                    ProblemType::Regression => (
                        crate::features::labels(train, label, None)?,
                        Task::Regression,
                    ),
                };
                let gbm = context.adapters.frameworks.get("gbm")?;
                // A quick fit: only the ranking of the features matters.
                let quick = FrameworkConfig::Gbm(GbmConfig {
                    n_estimators: Some(50),
                    learning_rate: Some(0.1),
                    max_depth: Some(4),
                    seed: Some(42),
                    ..GbmConfig::default()
                });
                let model = gbm.train(&x, &y, task, &quick)?;
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
            Selection::Correlation { threshold } => {
                let x = layout.matrix(train)?;
                let mut keep = vec![true; x.columns];
                for later in 0..x.columns {
                    for earlier in 0..later {
                        if keep[earlier]
                            && correlation(x.column(earlier), x.column(later)).abs() > *threshold
                        {
                            keep[later] = false;
                            break;
                        }
                    }
                }
                keep
            }
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
    let fitted = FittedSelector {
        kept: layout.names(),
        dropped,
    };
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
        fitted::write(&fitted)?,
    ])
}

/// The positive class of a binary problem as the data's text (`1` unless set), else none.
pub fn positive_class(
    problem_type: ProblemType,
    configured: Option<&ClassLabel>,
) -> Option<String> {
    (problem_type == ProblemType::BinaryClassification)
        .then(|| configured.map_or_else(|| "1".to_string(), ClassLabel::text))
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
