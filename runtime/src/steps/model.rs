//! Model steps: train, evaluate, and record the run in the model registry.

use std::collections::BTreeMap;

use std::sync::Arc;

use anyhow::Context;
use mbt_contract::manifest::{Evaluate, LogRun, TrainModel};
use mbt_contract::pipeline::{Metric, ProblemType, Registration};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::fitted::{self, RecordedJoins, RecordedTransforms};
use super::transforms::positive_class;
use super::{Artifact, StepContext};
use crate::adapters::{RunRecord, SerializedModel, Task};
use crate::error::{coded, Code, Coded};
use crate::features::{class_indices, class_names, labels, Columns, FeatureLayout};
use crate::{frame, metrics};

/// The model artifact: the framework's model plus what is needed to feed it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub layout: FeatureLayout,
    pub label_column: String,
    /// The class whose probability is predicted (binary); absent for regression.
    pub positive_class: Option<String>,
    /// Kept in predictions so each row can be traced back.
    #[serde(default)]
    pub primary_key: Option<String>,
    /// Multiclass: the class names, in the order of the model's probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    pub model: SerializedModel,
}

pub fn train(context: &mut StepContext<'_>, config: &TrainModel) -> anyhow::Result<Vec<Artifact>> {
    // Every field is read below (a new one does not compile until it is handled here).
    let TrainModel {
        model: _,
        problem_type: _,
        label_column: _,
        classes: _,
        positive_class: _,
        identifiers: _,     // through `config.roles()`
        ignored_columns: _, // through `config.roles()`
    } = config;
    let train = context.first_frame()?;
    let label = config.label_column.clone();
    let mut classes = None;
    let task = match config.problem_type {
        ProblemType::BinaryClassification => Task::Binary,
        ProblemType::Regression => Task::Regression,
        ProblemType::MulticlassClassification => {
            let names = class_names(train, &label, config.classes.as_deref())?;
            let k = names.len();
            classes = Some(names);
            Task::Multiclass(k)
        }
    };
    let positive = positive_class(config.problem_type, config.positive_class.as_ref());
    let roles = config.roles();
    let layout = FeatureLayout::fit(train, &roles.non_features())?;
    let x = layout.columns_of(train);
    let y = match &classes {
        Some(names) => class_indices(train, &label, names)
            .code(
                Code::UntrainableData,
                "list every label value under schema.target.classes",
            )?
            .into_iter()
            .map(|class| class as f64)
            .collect(),
        None => labels(train, &label, positive.as_deref())?,
    };
    if let Some(names) = &classes {
        let present: std::collections::BTreeSet<u64> = y.iter().map(|v| *v as u64).collect();
        if present.len() < 2 {
            return Err(coded(
                Code::UntrainableData,
                format!("the label `{label}` has a single class in the train set ({} rows); multiclass classification needs at least two of {}", y.len(), names.join(", ")),
                "check the label column, the time window and the validation checks that drop rows",
            ));
        }
    }
    if task == Task::Binary {
        let positives = y.iter().filter(|v| **v == 1.0).count();
        if positives == 0 || positives == y.len() {
            return Err(coded(
                Code::UntrainableData,
                format!("the label `{label}` has a single class in the train set ({} rows); binary classification needs both", y.len()),
                "check the label column, the time window and the validation checks that drop rows",
            ));
        }
    }
    let framework = context.adapters.frameworks.get(config.model.name())?;
    framework.health_check().map(drop).code(
        Code::AdapterFailed,
        format!(
            "check what framework `{}` needs: `mbt deps list`",
            config.model.name()
        ),
    )?;
    framework
        .validate_config(&config.model, task)
        .code(Code::UntrainableData, "check the framework config")?;
    let trained = framework
        .train_with_report(&x, &y, task, &config.model)
        .code(
            Code::UntrainableData,
            "check the framework config and the training data",
        )?;
    context.warnings.extend(trained.warnings);
    if let Some(board) = &trained.leaderboard {
        // Stored with the run (measured times included), beside the model.
        let text = serde_json::to_string_pretty(board)? + "\n";
        context
            .files
            .push(("leaderboard.json".into(), text.into_bytes()));
    }
    let model = trained.model;
    context.metrics.insert("train_rows".into(), x.rows() as f64);
    context.metrics.insert("features".into(), x.width() as f64);
    let artifact = ModelArtifact {
        layout,
        label_column: label,
        positive_class: positive,
        primary_key: roles.primary_key,
        classes,
        model,
    };
    Ok(vec![Artifact::Model(Arc::new(artifact))])
}

pub fn evaluate(context: &mut StepContext<'_>, config: &Evaluate) -> anyhow::Result<Vec<Artifact>> {
    // Every field is read below or by `evaluate_multiclass`.
    let Evaluate {
        primary_metric: _,
        metrics: _,
        generate_plots: _,
        custom_metrics: _,
    } = config;
    let artifact = context.input_at(0)?.model()?;
    let test = context.input_at(1)?.frame()?;
    let framework = context.adapters.frameworks.get(&artifact.model.framework)?;
    let x = artifact.layout.matrix(test)?;
    let scores = framework.predict(&artifact.model, &x)?;
    if let Some(classes) = &artifact.classes {
        return evaluate_multiclass(context, config, artifact, classes, test, &scores);
    }
    let y = labels(
        test,
        &artifact.label_column,
        artifact.positive_class.as_deref(),
    )?;
    let mut values = BTreeMap::new();
    let threshold = 0.5;
    for metric in &config.metrics {
        let (accuracy, precision, recall, f1) = metrics::binary_counts(&y, &scores, threshold);
        let (rmse, mae, r2, mape) = metrics::regression(&y, &scores);
        let value = match metric {
            Metric::RocAuc => metrics::roc_auc(&y, &scores)
                .context("roc_auc needs both classes in the test set")
                .code(
                    Code::UntrainableData,
                    "use more test rows or a stratified split",
                )?,
            Metric::PrAuc => metrics::pr_auc(&y, &scores)
                .context("pr_auc needs positives in the test set")
                .code(
                    Code::UntrainableData,
                    "use more test rows or a stratified split",
                )?,
            Metric::Accuracy => accuracy,
            Metric::Precision => precision,
            Metric::Recall => recall,
            Metric::F1 => f1,
            Metric::LogLoss => metrics::log_loss(&y, &scores),
            Metric::Rmse => rmse,
            Metric::Mae => mae,
            Metric::R2 => r2,
            Metric::Mape => mape,
            Metric::MacroF1 => {
                return Err(coded(
                    Code::UntrainableData,
                    "metric `macro_f1` is defined for multiclass classification only",
                    "use accuracy, precision, recall or f1",
                ))
            }
        };
        values.insert(metric.as_str().to_string(), value);
    }
    // Custom metrics: `lib.module.function(y_true, y_score) -> float`, named by the function.
    if !config.custom_metrics.is_empty() {
        let bridge = crate::python::PythonBridge::new(context.project);
        for function in &config.custom_metrics {
            let name = function.rsplit('.').next().unwrap_or(function);
            values.insert(name.to_string(), bridge.metric(function, &y, &scores)?);
        }
    }
    context.metrics.extend(values.clone());
    if config.generate_plots {
        plot(context, artifact, &x, Some((&y, &scores)), None)?;
    }
    // The test set's scores, keyed by the primary key when there is one.
    let mut predictions = polars::prelude::DataFrame::default();
    if let Some(key) = artifact
        .primary_key
        .as_deref()
        .filter(|key| test.column(key).is_ok())
    {
        predictions.with_column(test.column(key)?.clone())?;
    }
    frame::with_column(&mut predictions, "label", y)?;
    frame::with_column(&mut predictions, "score", scores)?;
    Ok(vec![
        Artifact::Json(
            json!({"primary_metric": config.primary_metric.as_str(), "metrics": values}),
        ),
        Artifact::Frame(predictions),
    ])
}

/// Evaluate for multiclass: accuracy, macro F1 and log loss from every class's probability.
fn evaluate_multiclass(
    context: &mut StepContext<'_>,
    config: &Evaluate,
    artifact: &ModelArtifact,
    classes: &[String],
    test: &polars::prelude::DataFrame,
    probabilities: &[f64],
) -> anyhow::Result<Vec<Artifact>> {
    let y = class_indices(test, &artifact.label_column, classes).code(
        Code::UntrainableData,
        "the test set holds a class the train set did not: list every class under schema.target.classes",
    )?;
    let (accuracy, macro_f1, log_loss) = metrics::multiclass(&y, probabilities, classes.len());
    let mut values = BTreeMap::new();
    for metric in &config.metrics {
        let value = match metric {
            Metric::Accuracy => accuracy,
            Metric::MacroF1 => macro_f1,
            Metric::LogLoss => log_loss,
            other => {
                return Err(coded(
                    Code::UntrainableData,
                    format!(
                        "metric `{}` is not defined for multiclass classification",
                        other.as_str()
                    ),
                    "use accuracy, macro_f1 or log_loss",
                ))
            }
        };
        values.insert(metric.as_str().to_string(), value);
    }
    if let Some(function) = config.custom_metrics.first() {
        return Err(coded(
            Code::PythonFunctionFailed,
            format!("custom metric {function} takes (y_true, y_score), which multiclass classification does not have"),
            "custom metrics apply to binary classification and regression",
        ));
    }
    context.metrics.extend(values.clone());
    if config.generate_plots {
        let predicted = metrics::argmax_rows(probabilities, classes.len());
        let mut counts = vec![vec![0u64; classes.len()]; classes.len()];
        for (actual, predicted) in y.iter().zip(&predicted) {
            counts[*actual][*predicted] += 1;
        }
        let x = artifact.layout.matrix(test)?;
        plot(context, artifact, &x, None, Some((classes, &counts)))?;
    }
    let mut predictions = class_predictions(test, artifact, probabilities)?;
    let truth: Vec<String> = y.iter().map(|class| classes[*class].clone()).collect();
    predictions.with_column(polars::prelude::Column::new("label".into(), truth))?;
    Ok(vec![
        Artifact::Json(
            json!({"primary_metric": config.primary_metric.as_str(), "metrics": values}),
        ),
        Artifact::Frame(predictions),
    ])
}

/// `generate_plots: true`: ROC and PR curves and the confusion matrix (binary), the confusion
/// matrix (multiclass), feature importance, and an AutoML model's leaderboard, as PNG files
/// stored with evaluate's outputs.
fn plot(
    context: &mut StepContext<'_>,
    artifact: &ModelArtifact,
    x: &crate::features::Matrix,
    binary: Option<(&[f64], &[f64])>,
    confusion: Option<(&[String], &[Vec<u64>])>,
) -> anyhow::Result<()> {
    use crate::plots;
    if let Some((y, scores)) = binary {
        context
            .files
            .push(("roc_curve.png".into(), plots::roc_curve(y, scores)?));
        context
            .files
            .push(("pr_curve.png".into(), plots::pr_curve(y, scores)?));
        let mut counts = vec![vec![0u64; 2]; 2];
        for (label, score) in y.iter().zip(scores) {
            counts[usize::from(*label == 1.0)][usize::from(*score >= 0.5)] += 1;
        }
        let labels = ["negative".to_string(), "positive".to_string()];
        context.files.push((
            "confusion_matrix.png".into(),
            plots::confusion_matrix(&labels, &counts)?,
        ));
    }
    if let Some((classes, counts)) = confusion {
        context.files.push((
            "confusion_matrix.png".into(),
            plots::confusion_matrix(classes, counts)?,
        ));
    }
    let framework = context.adapters.frameworks.get(&artifact.model.framework)?;
    let importance = framework.feature_importance(&artifact.model, x.columns)?;
    context.files.push((
        "feature_importance.png".into(),
        plots::feature_importance(&artifact.layout.names(), &importance, 20)?,
    ));
    // AutoML frameworks: the leaderboard the model was chosen from (a model a server could
    // not score, NaN, is left out rather than failing the step).
    let board = framework.leaderboard(&artifact.model).unwrap_or_default();
    let rows: Vec<(String, f64)> = board
        .iter()
        .filter(|row| row.score.is_finite())
        .map(|row| (format!("{} ({})", row.model_id, row.algorithm), row.score))
        .collect();
    if let Some(first) = board.first().filter(|_| !rows.is_empty()) {
        context.files.push((
            "leaderboard.png".into(),
            plots::leaderboard(&rows, &first.metric, 15)?,
        ));
    }
    Ok(())
}

/// Multiclass predictions: the key, `class` (the most probable), `score` (its probability) and
/// `probability_<class>` for every class. Evaluate and serving both build them here.
pub fn class_predictions(
    frame: &polars::prelude::DataFrame,
    artifact: &ModelArtifact,
    probabilities: &[f64],
) -> anyhow::Result<polars::prelude::DataFrame> {
    let classes = artifact.classes.as_deref().unwrap_or_default();
    let k = classes.len().max(1);
    let best = metrics::argmax_rows(probabilities, k);
    let mut predictions = polars::prelude::DataFrame::default();
    if let Some(key) = artifact
        .primary_key
        .as_deref()
        .filter(|key| frame.column(key).is_ok())
    {
        predictions.with_column(frame.column(key)?.clone())?;
    }
    let names: Vec<String> = best.iter().map(|class| classes[*class].clone()).collect();
    predictions.with_column(polars::prelude::Column::new("class".into(), names))?;
    let score: Vec<f64> = best
        .iter()
        .enumerate()
        .map(|(row, class)| probabilities[row * k + class])
        .collect();
    frame::with_column(&mut predictions, "score", score)?;
    for (index, class) in classes.iter().enumerate() {
        let column: Vec<f64> = probabilities
            .iter()
            .skip(index)
            .step_by(k)
            .copied()
            .collect();
        frame::with_column(&mut predictions, &format!("probability_{class}"), column)?;
    }
    Ok(predictions)
}

pub fn log_run(context: &mut StepContext<'_>, config: &LogRun) -> anyhow::Result<Vec<Artifact>> {
    let LogRun {
        experiment_name,
        tags: tag_names,
        owner,
        joins,
        custom_transforms,
        params,
        registration,
    } = config;
    let metrics: BTreeMap<String, f64> = context
        .input("metrics")?
        .json()?
        .get("metrics")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_default();
    let mut artifacts = Vec::new();
    for name in &context.step.inputs {
        match context.input(name)? {
            Artifact::Json(value) => {
                artifacts.push((format!("{name}.json"), serde_json::to_vec_pretty(value)?))
            }
            Artifact::Model(model) => {
                artifacts.push((format!("{name}.json"), serde_json::to_vec_pretty(&**model)?));
                if let Some(binary) = &model.model.binary {
                    artifacts.push((format!("{name}.bin"), binary.to_vec()));
                }
            }
            Artifact::Frame(_) => {}
        }
    }
    // Serving replays the feature joins and custom transforms, so the run records them.
    if !joins.is_empty() {
        let joins = RecordedJoins {
            joins: joins.clone(),
        };
        artifacts.push((
            "feature_joins.json".into(),
            serde_json::to_vec_pretty(&joins)?,
        ));
    }
    if !custom_transforms.is_empty() {
        let transforms = RecordedTransforms {
            transforms: custom_transforms.clone(),
        };
        artifacts.push((
            "custom_transforms.json".into(),
            serde_json::to_vec_pretty(&transforms)?,
        ));
    }
    // The manifest the run executed, so a registry's run says how it was made.
    artifacts.push((
        "manifest.json".into(),
        serde_json::to_vec_pretty(context.manifest)?,
    ));
    let mut recorded = BTreeMap::new();
    recorded.insert(
        "model_training".into(),
        serde_json::to_value(&params.model)?,
    );
    recorded.insert("schema".into(), serde_json::to_value(&params.schema)?);
    recorded.insert(
        "split".into(),
        json!({"test_size": params.test_size, "stratify": params.stratify, "seed": params.seed}),
    );
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for tag in tag_names {
        tags.insert(tag.clone(), "true".into());
    }
    if let Some(owner) = owner {
        tags.insert("owner".into(), owner.clone());
    }
    // Runs are grouped by experiment in a registry (the pipeline's name when none is set).
    let experiment = experiment_name
        .clone()
        .unwrap_or_else(|| context.manifest.metadata.pipeline_name.clone());
    tags.insert("experiment".into(), experiment);
    if let Some(commit) = crate::git::head_commit(context.project) {
        tags.insert("git_commit".into(), commit);
    }
    let record = RunRecord {
        run_id: context.run_id.to_string(),
        pipeline: context.manifest.metadata.pipeline_name.clone(),
        target: context.manifest.metadata.target.clone(),
        params: recorded,
        metrics,
        tags,
        artifacts: BTreeMap::new(),
        manifest_hash: context.manifest.metadata.source_hash.clone(),
        mbt_version: context.manifest.metadata.mbt_version.clone(),
        recorded_at: Some(crate::clock::timestamp()),
    };
    let registry = &context.adapters.model_registry;
    let mut record = registry.log_run(&record, &artifacts)?;
    if let Some(Registration {
        registered_model_name: name,
        alias,
    }) = registration
    {
        let version = registry.register_model(&record, name, alias.as_deref())?;
        record
            .tags
            .insert("mbt.registered_model".into(), format!("{name}/{version}"));
        if let Some(alias) = alias {
            record
                .tags
                .insert("mbt.registered_alias".into(), format!("{name}@{alias}"));
        }
    }
    fitted::write(&record).map(|artifact| vec![artifact])
}
