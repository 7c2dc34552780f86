//! Model steps: train, evaluate, and record the run in the model registry.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

pub fn train(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let train = context.first_frame()?;
    let problem = context.manifest.metadata.problem_type.as_str();
    let label = context
        .config("label_column")
        .as_str()
        .context("train_model needs a label column")?
        .to_string();
    let mut classes = None;
    let task = match problem {
        "binary_classification" => Task::Binary,
        "regression" => Task::Regression,
        "multiclass_classification" => {
            let names = class_names(train, &label, context.config("classes"))?;
            let k = names.len();
            classes = Some(names);
            Task::Multiclass(k)
        }
        other => {
            return Err(coded(
                Code::UntrainableData,
                format!("{other} is not supported by this runtime"),
                "use binary_classification, multiclass_classification or regression",
            ))
        }
    };
    let positive = positive_class(context);
    let layout = FeatureLayout::fit(train, &context.non_features())?;
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
    let framework_name = context.config("framework").as_str().unwrap_or_default();
    let framework = context.registry.framework(framework_name)?;
    let config = context.config("config");
    framework
        .health_check()
        .and_then(|()| framework.validate_config(config, task))
        .and_then(|()| framework.setup())
        .code(Code::UntrainableData, "check the framework config")?;
    let model = framework.train(&x, &y, task, config);
    framework.teardown()?;
    let model = model.code(
        Code::UntrainableData,
        "check the framework config and the training data",
    )?;
    context.metrics.insert("train_rows".into(), x.rows() as f64);
    context.metrics.insert("features".into(), x.width() as f64);
    let primary_key = context
        .training_schema()
        .pointer("/identifiers/primary_key")
        .and_then(Value::as_str)
        .map(str::to_string);
    let artifact = ModelArtifact {
        layout,
        label_column: label,
        positive_class: positive,
        primary_key,
        classes,
        model,
    };
    Ok(vec![Artifact::Json(serde_json::to_value(artifact)?)])
}

pub fn evaluate(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let [model_name, test_name] = context.step.inputs.as_slice() else {
        bail!("evaluate expects a model and a test set");
    };
    let artifact: ModelArtifact =
        serde_json::from_value(context.input(model_name)?.json()?.clone())
            .context("invalid model artifact")?;
    let test = context.input(test_name)?.frame()?;
    let framework = context.registry.framework(&artifact.model.framework)?;
    let x = artifact.layout.matrix(test)?;
    let scores = framework.predict(&artifact.model, &x)?;
    if let Some(classes) = &artifact.classes {
        return evaluate_multiclass(context, &artifact, classes, test, &scores);
    }
    let y = labels(
        test,
        &artifact.label_column,
        artifact.positive_class.as_deref(),
    )?;
    let mut values = BTreeMap::new();
    let threshold = 0.5;
    for metric in super::str_items(context.config("metrics")) {
        let (accuracy, precision, recall, f1) = metrics::binary_counts(&y, &scores, threshold);
        let (rmse, mae, r2, mape) = metrics::regression(&y, &scores);
        let value = match metric {
            "roc_auc" => metrics::roc_auc(&y, &scores)
                .context("roc_auc needs both classes in the test set")
                .code(
                    Code::UntrainableData,
                    "use more test rows or a stratified split",
                )?,
            "pr_auc" => metrics::pr_auc(&y, &scores)
                .context("pr_auc needs positives in the test set")
                .code(
                    Code::UntrainableData,
                    "use more test rows or a stratified split",
                )?,
            "accuracy" => accuracy,
            "precision" => precision,
            "recall" => recall,
            "f1" => f1,
            "log_loss" => metrics::log_loss(&y, &scores),
            "rmse" => rmse,
            "mae" => mae,
            "r2" => r2,
            "mape" => mape,
            other => bail!("metric `{other}` is not supported by this runtime yet"),
        };
        values.insert(metric.to_string(), value);
    }
    // Custom metrics: `lib.module.function(y_true, y_score) -> float`, named by the function.
    let custom: Vec<&str> = super::str_items(context.config("custom_metrics")).collect();
    if !custom.is_empty() {
        let bridge = crate::python::PythonBridge::new(context.project);
        for function in custom {
            let name = function.rsplit('.').next().unwrap_or(function);
            values.insert(name.to_string(), bridge.metric(function, &y, &scores)?);
        }
    }
    context.metrics.extend(values.clone());
    if context.config("generate_plots").as_bool() == Some(true) {
        plot(context, &artifact, &x, Some((&y, &scores)), None)?;
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
            json!({"primary_metric": context.config("primary_metric"), "metrics": values}),
        ),
        Artifact::Frame(predictions),
    ])
}

/// Evaluate for multiclass: accuracy, macro F1 and log loss from every class's probability.
fn evaluate_multiclass(
    context: &mut StepContext<'_>,
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
    for metric in super::str_items(context.config("metrics")) {
        let value = match metric {
            "accuracy" => accuracy,
            "macro_f1" => macro_f1,
            "log_loss" => log_loss,
            other => {
                return Err(coded(
                    Code::UntrainableData,
                    format!("metric `{other}` is not defined for multiclass classification"),
                    "use accuracy, macro_f1 or log_loss",
                ))
            }
        };
        values.insert(metric.to_string(), value);
    }
    if let Some(function) = context
        .config("custom_metrics")
        .as_array()
        .and_then(|m| m.first())
    {
        return Err(coded(
            Code::PythonFunctionFailed,
            format!("custom metric {function} takes (y_true, y_score), which multiclass classification does not have"),
            "custom metrics apply to binary classification and regression",
        ));
    }
    context.metrics.extend(values.clone());
    if context.config("generate_plots").as_bool() == Some(true) {
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
            json!({"primary_metric": context.config("primary_metric"), "metrics": values}),
        ),
        Artifact::Frame(predictions),
    ])
}

/// `generate_plots: true`: ROC and PR curves and the confusion matrix (binary), the confusion
/// matrix (multiclass), and feature importance, as PNG files stored with evaluate's outputs.
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
    let framework = context.registry.framework(&artifact.model.framework)?;
    let importance = framework.feature_importance(&artifact.model, x.columns)?;
    context.files.push((
        "feature_importance.png".into(),
        plots::feature_importance(&artifact.layout.names(), &importance, 20)?,
    ));
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

pub fn log_run(context: &mut StepContext<'_>) -> anyhow::Result<Vec<Artifact>> {
    let metrics: BTreeMap<String, f64> = context
        .input("metrics")?
        .json()?
        .get("metrics")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .unwrap_or_default();
    let mut artifacts = Vec::new();
    for name in &context.step.inputs {
        let artifact = context.input(name)?;
        if let Artifact::Json(value) = artifact {
            artifacts.push((format!("{name}.json"), serde_json::to_vec_pretty(value)?));
        }
    }
    // Serving replays the feature joins and custom transforms, so the run records them.
    if let Some(step) = context.manifest.steps.get("join_tables") {
        let joins = json!({"joins": step.config["joins"]});
        artifacts.push((
            "feature_joins.json".into(),
            serde_json::to_vec_pretty(&joins)?,
        ));
    }
    if let Some(step) = context.manifest.steps.get("transform") {
        let transforms = json!({"transforms": step.config["custom_transforms"]});
        artifacts.push((
            "custom_transforms.json".into(),
            serde_json::to_vec_pretty(&transforms)?,
        ));
    }
    let pipeline = &context.manifest.pipeline;
    let mut params = BTreeMap::new();
    if let Some(training) = pipeline.get("training") {
        params.insert(
            "model_training".into(),
            training
                .get("model_training")
                .cloned()
                .unwrap_or(Value::Null),
        );
        params.insert(
            "schema".into(),
            training.get("schema").cloned().unwrap_or(Value::Null),
        );
        params.insert(
            "split".into(),
            context
                .manifest
                .steps
                .get("split_data")
                .map(|s| s.config.clone())
                .unwrap_or(Value::Null),
        );
    }
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for tag in super::str_items(context.config("tags")) {
        tags.insert(tag.to_string(), "true".into());
    }
    if let Some(owner) = context.config("owner").as_str() {
        tags.insert("owner".into(), owner.into());
    }
    let record = RunRecord {
        run_id: context.run_id.to_string(),
        pipeline: context.manifest.metadata.pipeline_name.clone(),
        target: context.manifest.metadata.target.clone(),
        params,
        metrics,
        tags,
        artifacts: BTreeMap::new(),
        manifest_hash: context.manifest.metadata.source_hash.clone(),
        mbt_version: context.manifest.metadata.mbt_version.clone(),
    };
    let record = context.model_registry.log_run(&record, &artifacts)?;
    Ok(vec![Artifact::Json(serde_json::to_value(record)?)])
}
