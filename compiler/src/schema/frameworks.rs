//! Compile-time rules of the training frameworks: checks of `model_training.config` that the
//! JSON Schema cannot express (they depend on the problem type). The frameworks themselves, their
//! config types and whether this build runs them are the adapter table
//! ([`mbt_contract::adapters`]); this is the compiler's half, keyed by the table's names.

use serde_json::Value;

use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::yaml::Node;
use mbt_contract::adapters::{self, AdapterKind};
use mbt_contract::frameworks::{h2o_sort_metrics, SKLEARN_REGRESSORS, SMARTCORE_REGRESSORS};
use mbt_contract::pipeline::ProblemType;

/// Rules beyond the schema that depend on the problem type.
pub type Rules = fn(config: &Node, problem_type: ProblemType, out: &mut Vec<Diagnostic>);

/// The rules of framework `name` (none for frameworks whose schema says everything).
pub fn rules(name: &str) -> Option<Rules> {
    match name {
        "h2o_automl" | "automl" => Some(h2o_rules),
        "sklearn" => Some(|config, problem_type, out| {
            model_rules(config, problem_type, SKLEARN_REGRESSORS, "sklearn", out)
        }),
        "smartcore" => Some(|config, problem_type, out| {
            model_rules(config, problem_type, SMARTCORE_REGRESSORS, "smartcore", out)
        }),
        _ => None,
    }
}

fn h2o_rules(config: &Node, problem_type: ProblemType, out: &mut Vec<Diagnostic>) {
    let Some(metric) = config.get_path(&["sort_metric"]) else {
        return;
    };
    let Some(name) = metric.as_str() else { return };
    let valid = h2o_sort_metrics(problem_type);
    // A metric of some problem type, but not this one (unknown names are the schema's).
    let known = [
        ProblemType::BinaryClassification,
        ProblemType::MulticlassClassification,
        ProblemType::Regression,
    ]
    .iter()
    .any(|other| h2o_sort_metrics(*other).contains(&name));
    if known && !valid.contains(&name) {
        out.push(
            Diagnostic::at(
                Code::FrameworkOptionNotForProblemType,
                metric.span,
                format!(
                    "sort_metric `{name}` is not valid for {}",
                    problem_type.as_str()
                ),
            )
            .with_label(format!("not a {} metric", problem_type.as_str()))
            .with_help(format!("use one of: {}", valid.join(", "))),
        );
    }
}

/// A classifier for a regression problem, or the reverse, is a compile error.
fn model_rules(
    config: &Node,
    problem_type: ProblemType,
    regressors: &[&str],
    framework: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(model) = config.get_path(&["model"]) else {
        return;
    };
    let Some(name) = model.as_str() else { return };
    let schema = framework_schema_models(framework);
    if !schema.contains(&name) {
        return; // the schema check reports unknown models
    }
    let is_regressor = regressors.contains(&name);
    if is_regressor == problem_type.is_classification() {
        let fitting: Vec<&str> = schema
            .iter()
            .copied()
            .filter(|candidate| regressors.contains(candidate) != problem_type.is_classification())
            .collect();
        let kind = if is_regressor {
            "a regressor"
        } else {
            "a classifier"
        };
        out.push(
            Diagnostic::at(
                Code::ModelNotSupported,
                model.span,
                format!(
                    "{framework} model `{name}` is {kind}, but the problem type is {}",
                    problem_type.as_str()
                ),
            )
            .with_label(kind)
            .with_help(if fitting.is_empty() {
                format!(
                    "{framework} has no model for {}; choose another framework",
                    problem_type.as_str()
                )
            } else {
                did_you_mean(name, &fitting).replace("expected one of", "use one of")
            }),
        );
    }
}

/// The model class names a framework's schema accepts.
pub fn framework_schema_models(framework: &str) -> Vec<&'static str> {
    let Some(spec) = adapters::adapter(AdapterKind::Framework, framework) else {
        return Vec::new();
    };
    let schema = spec.config_schema();
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|branches| {
            branches
                .iter()
                .filter_map(|branch| {
                    branch
                        .get("properties")?
                        .get("model")?
                        .get("const")?
                        .as_str()
                })
                .collect()
        })
        .unwrap_or_default()
}
