//! The rules beyond the schema, one function per rule. They read the merged, rendered tree (not
//! the typed pipeline), so they run even when other parts of the pipeline have errors, and
//! every diagnostic points at the node it is about.

use mbt_contract::adapters::{self, AdapterKind};
use rustc_hash::FxHashSet;

use super::custom::custom_function;
use crate::db::Db;
use crate::diagnostics::{Code, Diagnostic, Label};
use crate::queries::parse::pipeline_index;
use crate::queries::target::{not_available, secrets_outside, WithAvailable};
use crate::schema::check::SchemaCheck;
use crate::schema::frameworks;
use crate::schema::pipeline::{Metric, ProblemType};
use crate::text::Span;
use crate::yaml::{Node, NodeKind};

/// The pipeline the rules look at.
pub struct Pipeline<'a> {
    pub db: &'a dyn Db,
    /// The merged, rendered tree (a mapping).
    pub root: &'a Node,
    /// The pipeline's name (its file stem).
    pub name: &'a str,
    /// Where a problem of the whole pipeline is reported: its own first key.
    pub anchor: Span,
    /// Scalars left for run time (`{{ var('x') }}` without a value).
    pub deferred: &'a FxHashSet<Span>,
}

impl Pipeline<'_> {
    fn training(&self) -> Option<&Node> {
        self.root.get_path(&["training"])
    }

    fn serving(&self) -> Option<&Node> {
        self.root.get_path(&["serving"])
    }

    fn problem_type(&self) -> Option<ProblemType> {
        self.root
            .get_path(&["project", "problem_type"])
            .and_then(Node::as_str)
            .and_then(ProblemType::parse)
    }

    /// A node of the training section's target.
    fn target(&self, key: &str) -> Option<&Node> {
        self.root.get_path(&["training", "schema", "target", key])
    }
}

type Rule = fn(&Pipeline<'_>, &mut Vec<Diagnostic>);

/// Every rule, in the order their diagnostics are most useful.
const RULES: &[Rule] = &[
    schema_version,
    project_name,
    pipeline_kind,
    label_present,
    classes_unique,
    classes_fit_problem_type,
    positive_class_in_classes,
    label_not_ignored,
    feature_tables,
    value_ranges,
    custom_functions,
    metrics_fit_problem_type,
    framework,
    model_source,
    model_choice,
    registration,
    output_destination,
    no_secrets,
];

/// Runs every rule; the ones that depend on the problem type also show where it was set (often
/// in a base pipeline).
pub fn check(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let problem_node = pipeline.root.get_path(&["project", "problem_type"]);
    for rule in RULES {
        let before = out.len();
        rule(pipeline, out);
        if let Some(problem_node) = problem_node {
            for diagnostic in &mut out[before..] {
                if matches!(
                    diagnostic.code,
                    Code::MetricNotForProblemType
                        | Code::FrameworkOptionNotForProblemType
                        | Code::ModelNotSupported
                        | Code::ClassesForProblemType
                ) && !diagnostic.message.contains("has no model")
                {
                    diagnostic.labels.push(Label {
                        span: problem_node.span,
                        message: "problem type set here".to_string(),
                    });
                }
            }
        }
    }
}

/// `schema_version` is one this MBT reads.
fn schema_version(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(version) = pipeline.root.get_path(&["schema_version"]) else {
        return;
    };
    if let NodeKind::Int(value) = version.kind {
        if value != 1 {
            out.push(
                Diagnostic::at(
                    Code::UnsupportedSchemaVersion,
                    version.span,
                    format!("unsupported schema_version {value}"),
                )
                .with_label("this MBT understands version 1")
                .with_help("set `schema_version: 1`"),
            );
        }
    }
}

/// `project.name` equals the file name.
fn project_name(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(project_name) = pipeline.root.get_path(&["project", "name"]) else {
        return;
    };
    let name = pipeline.name;
    if let Some(written) = project_name.as_str() {
        if written != name && !pipeline.deferred.contains(&project_name.span) {
            out.push(
                Diagnostic::at(
                    Code::PipelineNameMismatch,
                    project_name.span,
                    format!(
                        "project name `{written}` differs from the pipeline file name `{name}`"
                    ),
                )
                .with_label("does not match the file")
                .with_help(format!(
                    "set `name: {name}`, or rename the file to `{written}.yaml`"
                )),
            );
        }
    }
}

/// A pipeline trains or serves: exactly one of the two sections.
fn pipeline_kind(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let root = pipeline.root;
    let name = pipeline.name;
    match (pipeline.training(), pipeline.serving()) {
        (None, None) => out.push(
            Diagnostic::at(Code::PipelineKind, pipeline.anchor, format!("pipeline `{name}` has neither `training` nor `serving`"))
                .with_label("in this pipeline")
                .with_help("add a `training:` or `serving:` section; a file that only holds shared sections should be a base named `_NAME.yaml`"),
        ),
        (Some(training), Some(serving)) => {
            let key_span = |key: &str, node: &Node| {
                root.as_mapping()
                    .and_then(|m| m.entry(key))
                    .map(|e| e.key_span)
                    .unwrap_or(node.span)
            };
            out.push(
                Diagnostic::at(Code::PipelineKind, key_span("serving", serving), format!("pipeline `{name}` has both `training` and `serving`"))
                    .with_secondary(key_span("training", training), "training defined here")
                    .with_help("split it into a training pipeline and a serving pipeline"),
            );
        }
        _ => {}
    }
}

/// A training schema names the label.
fn label_present(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(schema) = pipeline
        .training()
        .and_then(|t| t.get_path(&["schema"]))
        .filter(|s| s.as_mapping().is_some())
    else {
        return;
    };
    if schema.get_path(&["target"]).is_none() {
        out.push(
            Diagnostic::at(
                Code::MissingLabel,
                schema.span,
                "training has no label column",
            )
            .with_label("no `target` in this schema")
            .with_help("add `target: {label_column: NAME}` to `training.schema`"),
        );
    }
}

/// No class is listed twice.
fn classes_unique(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(classes) = pipeline.target("classes").and_then(Node::as_sequence) else {
        return;
    };
    for (index, class) in classes.iter().enumerate() {
        if let Some(first) = classes[..index]
            .iter()
            .find(|other| other.to_json() == class.to_json())
        {
            out.push(
                Diagnostic::at(
                    Code::DuplicateEntry,
                    class.span,
                    format!("class `{}` is listed twice", class.to_json()),
                )
                .with_secondary(first.span, "first listed here")
                .with_help("remove the repeated class"),
            );
        }
    }
}

/// Binary has two classes, multiclass at least three, regression none.
fn classes_fit_problem_type(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let (Some(classes_node), Some(problem_type)) =
        (pipeline.target("classes"), pipeline.problem_type())
    else {
        return;
    };
    let Some(classes) = classes_node.as_sequence() else {
        return;
    };
    let count = classes.len();
    let wrong = match problem_type {
        ProblemType::BinaryClassification => {
            (count != 2).then_some("binary classification needs exactly 2 classes")
        }
        ProblemType::MulticlassClassification => {
            (count < 3).then_some("multiclass classification needs at least 3 classes")
        }
        ProblemType::Regression => Some("regression takes no classes"),
    };
    if let Some(reason) = wrong {
        out.push(
            Diagnostic::at(
                Code::ClassesForProblemType,
                classes_node.span,
                format!("{count} classes given, but {reason}"),
            )
            .with_label(format!("{count} classes"))
            .with_help(match problem_type {
                ProblemType::Regression => "remove `classes`, or change `project.problem_type`",
                _ => "correct `classes`, or change `project.problem_type`",
            }),
        );
    }
}

/// The positive class is one of the classes; regression has none.
fn positive_class_in_classes(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(positive) = pipeline.target("positive_class") else {
        return;
    };
    let classes_node = pipeline.target("classes");
    match classes_node.and_then(Node::as_sequence) {
        Some(classes)
            if !classes
                .iter()
                .any(|class| class.to_json() == positive.to_json()) =>
        {
            let names: Vec<String> = classes
                .iter()
                .map(|c| c.to_json().to_string().trim_matches('"').to_string())
                .collect();
            out.push(
                Diagnostic::at(
                    Code::PositiveClassNotInClasses,
                    positive.span,
                    format!(
                        "positive class {} is not one of the classes",
                        positive.to_json()
                    ),
                )
                .with_label("not in `classes`")
                .with_secondary(
                    classes_node.expect("classes exist").span,
                    "classes defined here",
                )
                .with_help(format!("use one of: {}", names.join(", "))),
            );
        }
        None if pipeline.problem_type() == Some(ProblemType::Regression) => out.push(
            Diagnostic::at(
                Code::ClassesForProblemType,
                positive.span,
                "regression takes no positive class",
            )
            .with_help("remove `positive_class`, or change `project.problem_type`"),
        ),
        _ => {}
    }
}

/// The label is not among `ignored_columns`.
fn label_not_ignored(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(label_node) = pipeline.target("label_column") else {
        return;
    };
    let (Some(label), Some(ignored)) = (
        label_node.as_str(),
        pipeline
            .root
            .get_path(&["training", "schema", "ignored_columns"])
            .and_then(Node::as_sequence),
    ) else {
        return;
    };
    for column in ignored.iter().filter(|c| c.as_str() == Some(label)) {
        out.push(
            Diagnostic::at(
                Code::LabelIgnored,
                column.span,
                format!("label column `{label}` is in `ignored_columns`"),
            )
            .with_label("the label")
            .with_secondary(label_node.span, "label column defined here")
            .with_help(format!("remove `{label}` from `ignored_columns`")),
        );
    }
}

/// Feature tables are listed once, and each but the label table has a join key.
fn feature_tables(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(training) = pipeline.training() else {
        return;
    };
    let label_table = training
        .get_path(&["data_source", "label_table"])
        .and_then(Node::as_str);
    let Some(tables) = training
        .get_path(&["data_source", "feature_tables"])
        .and_then(Node::as_sequence)
    else {
        return;
    };
    for (index, table) in tables.iter().enumerate() {
        let Some(name_node) = table.get_path(&["table"]) else {
            continue;
        };
        let Some(name) = name_node.as_str() else {
            continue;
        };
        if let Some(first) = tables[..index]
            .iter()
            .filter_map(|t| t.get_path(&["table"]))
            .find(|t| t.as_str() == Some(name))
        {
            out.push(
                Diagnostic::at(
                    Code::DuplicateEntry,
                    name_node.span,
                    format!("table `{name}` is listed twice in `feature_tables`"),
                )
                .with_secondary(first.span, "first listed here")
                .with_help("remove the repeated table"),
            );
            continue;
        }
        if Some(name) != label_table && table.get_path(&["join_key"]).is_none() {
            out.push(
                Diagnostic::at(
                    Code::JoinKeyRequired,
                    name_node.span,
                    format!("table `{name}` is joined but has no `join_key`"),
                )
                .with_label("needs a join key")
                .with_help("add `join_key: COLUMN` (the column shared with the label table)"),
            );
        }
    }
}

/// A `value_range` check's `min` is not above its `max`.
fn value_ranges(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    for check in validation_checks(pipeline) {
        let (Some(min), Some(max)) = (check.get_path(&["min"]), check.get_path(&["max"])) else {
            continue;
        };
        if let (Some(low), Some(high)) = (number(min), number(max)) {
            if low > high {
                out.push(Diagnostic::min_greater_than_max(
                    min.span, max.span, low, high,
                ));
            }
        }
    }
}

/// Custom validators, transforms and metrics name functions the project defines.
fn custom_functions(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(training) = pipeline.training() else {
        return;
    };
    for check in validation_checks(pipeline) {
        if check.get_path(&["type"]).and_then(Node::as_str) == Some("custom") {
            if let Some(function) = check.get_path(&["function"]) {
                custom_function(pipeline.db, function, out);
            }
        }
    }
    let transforms = training
        .get_path(&["transformations", "custom_transforms"])
        .and_then(Node::as_sequence)
        .unwrap_or(&[]);
    for transform in transforms {
        if let NodeKind::String(_) = transform.kind {
            custom_function(pipeline.db, transform, out);
        }
    }
    let metrics = training
        .get_path(&["evaluation", "custom_metrics"])
        .and_then(Node::as_sequence)
        .unwrap_or(&[]);
    for metric in metrics {
        custom_function(pipeline.db, metric, out);
    }
}

/// Evaluation metrics fit the problem type.
fn metrics_fit_problem_type(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let (Some(training), Some(problem_type)) = (pipeline.training(), pipeline.problem_type())
    else {
        return;
    };
    let valid_names: Vec<&str> = Metric::valid_for(problem_type)
        .iter()
        .map(|m| m.as_str())
        .collect();
    let primary = training
        .get_path(&["evaluation", "primary_metric"])
        .into_iter();
    let additional = training
        .get_path(&["evaluation", "additional_metrics"])
        .and_then(Node::as_sequence)
        .unwrap_or(&[])
        .iter();
    for metric in primary.chain(additional) {
        let Some(name) = metric.as_str() else {
            continue;
        };
        let known = Metric::ALL.iter().any(|m| m.as_str() == name);
        if known && !valid_names.contains(&name) {
            out.push(
                Diagnostic::at(
                    Code::MetricNotForProblemType,
                    metric.span,
                    format!("metric `{name}` is not valid for {}", problem_type.as_str()),
                )
                .with_label(format!("not a {} metric", problem_type.as_str()))
                .with_help(format!("use one of: {}", valid_names.join(", "))),
            );
        }
    }
}

/// The framework is in the adapter table and this build runs it; its config fits its schema
/// and rules.
fn framework(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(training) = pipeline.training() else {
        return;
    };
    let Some(framework_node) = training.get_path(&["model_training", "framework"]) else {
        return;
    };
    let Some(name) = framework_node.as_str() else {
        return;
    };
    let Some(spec) = adapters::adapter(AdapterKind::Framework, name) else {
        out.push(
            Diagnostic::at(
                Code::UnknownFramework,
                framework_node.span,
                format!("unknown framework `{name}`"),
            )
            .with_label("not a known framework")
            .with_did_you_mean(
                name,
                &adapters::known_names(AdapterKind::Framework),
                framework_node.span,
            )
            .with_available(AdapterKind::Framework, name),
        );
        return;
    };
    if !spec.available {
        out.push(not_available(
            AdapterKind::Framework,
            name,
            framework_node.span,
        ));
    }
    let empty = Node {
        kind: NodeKind::Mapping(Default::default()),
        span: framework_node.span,
    };
    let config = training
        .get_path(&["model_training", "config"])
        .unwrap_or(&empty);
    // No `model` for a framework that has a default: check the config with the default in.
    let defaulted;
    let config = match (
        pipeline
            .problem_type()
            .and_then(|problem| mbt_contract::frameworks::default_model(name, problem)),
        config.as_mapping(),
    ) {
        (Some(default), Some(mapping)) if mapping.entry("model").is_none() => {
            let mut mapping = mapping.clone();
            mapping.entries.insert(
                0,
                crate::yaml::Entry {
                    key: "model".into(),
                    key_span: config.span,
                    value: Node {
                        kind: NodeKind::String(default.into()),
                        span: config.span,
                    },
                },
            );
            defaulted = Node {
                kind: NodeKind::Mapping(mapping),
                span: config.span,
            };
            &defaulted
        }
        _ => config,
    };
    let deferred = FxHashSet::default();
    let mut check = SchemaCheck::new(spec.config_schema(), &deferred);
    let anchor = training
        .get_path(&["model_training"])
        .and_then(Node::as_mapping)
        .and_then(|m| m.entry("config"))
        .map(|e| e.key_span)
        .unwrap_or(framework_node.span);
    check.check(config, "model_training.config", anchor);
    for mut diagnostic in check.diagnostics {
        // The model name selects the schema branch: say which framework rejected it.
        if diagnostic.code == Code::InvalidEnumValue && diagnostic.message.contains("config.model")
        {
            diagnostic.code = Code::ModelNotSupported;
            diagnostic.message = format!(
                "{name} has no model `{}`",
                diagnostic.message.split('`').nth(1).unwrap_or_default()
            );
        }
        out.push(diagnostic);
    }
    if let (Some(rules), Some(problem_type)) = (frameworks::rules(name), pipeline.problem_type()) {
        rules(config, problem_type, out);
    }
}

/// Serving loads from a model registry this build runs.
fn model_source(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(source) = pipeline
        .serving()
        .and_then(|s| s.get_path(&["model_source"]))
    else {
        return;
    };
    if let Some(registry) = source.get_path(&["registry"]) {
        adapter_name(AdapterKind::ModelRegistry, registry, out);
    }
    if let Some(node) = source.get_path(&["training_pipeline"]) {
        if let Some(name) = node.as_str() {
            let index = pipeline_index(pipeline.db, pipeline.db.project());
            let runnable: Vec<&str> = index.runnable().map(|(name, _)| name).collect();
            if !runnable.contains(&name) && !pipeline.deferred.contains(&node.span) {
                out.push(
                    Diagnostic::at(
                        Code::PipelineNotFound,
                        node.span,
                        format!("training pipeline `{name}` not found"),
                    )
                    .with_label("no such pipeline")
                    .with_did_you_mean(name, &runnable, node.span),
                );
            }
        }
    }
}

/// Serving's model is a run (`run_id`) or a registered model's alias (`model_name` + `alias`):
/// exactly one of them, complete.
fn model_choice(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(source) = pipeline
        .serving()
        .and_then(|s| s.get_path(&["model_source"]))
    else {
        return;
    };
    if source.as_mapping().is_none() {
        return;
    }
    let run_id = source.get_path(&["run_id"]);
    let model_name = source.get_path(&["model_name"]);
    let alias = source.get_path(&["alias"]);
    let missing = |key: &str, span: Span, help: &str| {
        Diagnostic::at(
            Code::MissingKey,
            span,
            format!("missing key `{key}` in `serving.model_source`"),
        )
        .with_label(format!("`{key}` is required here"))
        .with_help(help.to_string())
    };
    match (run_id, model_name, alias) {
        (None, None, None) => out.push(missing(
            "run_id",
            source.span,
            "add `run_id: latest` (the newest training run), a run id, or a registered model: \
             `model_name:` with `alias:`",
        )),
        (Some(run_id), Some(other), _) | (Some(run_id), None, Some(other)) => out.push(
            Diagnostic::at(
                Code::ConflictingKeys,
                other.span,
                "serving's model is chosen twice: by `run_id` and by a registered model",
            )
            .with_label("a registered model")
            .with_secondary(run_id.span, "and a run")
            .with_help("keep `run_id` for a run, or `model_name` with `alias` for a registered model's alias"),
        ),
        (None, Some(name), None) => out.push(missing(
            "alias",
            name.span,
            "add `alias:` naming the version to load, e.g. `alias: champion` (the alias the \
             training pipeline's `registration` moves)",
        )),
        (None, None, Some(alias)) => out.push(missing(
            "model_name",
            alias.span,
            "add `model_name:`, the training pipeline's `registration.registered_model_name`",
        )),
        _ => {}
    }
    for node in [model_name, alias].into_iter().flatten() {
        valid_name(node, out);
    }
}

/// A training pipeline's registered model name and alias are names a registry can hold.
fn registration(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    let Some(registration) = pipeline
        .training()
        .and_then(|t| t.get_path(&["registration"]))
    else {
        return;
    };
    for key in ["registered_model_name", "alias"] {
        if let Some(node) = registration.get_path(&[key]) {
            valid_name(node, out);
        }
    }
}

/// Letters, digits, `_`, `-` and `.`, not starting with `.` (it becomes a folder of the local
/// registry and part of MLflow's API paths).
fn valid_name(node: &Node, out: &mut Vec<Diagnostic>) {
    let Some(name) = node.as_str() else {
        return;
    };
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid || name.contains("{{") {
        return;
    }
    let suggestion: String = name
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.push(
        Diagnostic::at(
            Code::InvalidName,
            node.span,
            format!("`{name}` is not a valid name"),
        )
        .with_label("only letters, digits, `_`, `-` and `.`")
        .with_help(format!("rename it, e.g. `{suggestion}`")),
    );
}

/// Serving publishes through an output writer this build runs.
fn output_destination(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    if let Some(destination) = pipeline
        .serving()
        .and_then(|s| s.get_path(&["output", "destination"]))
    {
        adapter_name(AdapterKind::OutputWriter, destination, out);
    }
}

/// A pipeline has no credential field, so a secret reference anywhere in it would be text.
fn no_secrets(pipeline: &Pipeline<'_>, out: &mut Vec<Diagnostic>) {
    if let Some(mapping) = pipeline.root.as_mapping() {
        for entry in &mapping.entries {
            secrets_outside(&entry.value, &entry.key, out);
        }
    }
}

/// An adapter named in a pipeline: known (else a did-you-mean) and available.
fn adapter_name(kind: AdapterKind, node: &Node, out: &mut Vec<Diagnostic>) {
    let Some(name) = node.as_str() else {
        return;
    };
    match adapters::adapter(kind, name) {
        Some(spec) if spec.available => {}
        Some(_) => out.push(not_available(kind, name, node.span)),
        None => out.push(
            Diagnostic::at(
                Code::UnknownAdapter,
                node.span,
                format!("unknown {} `{name}`", kind.describe()),
            )
            .with_label(format!("not a known {}", kind.describe()))
            .with_did_you_mean(name, &adapters::known_names(kind), node.span)
            .with_available(kind, name),
        ),
    }
}

fn validation_checks<'a>(pipeline: &Pipeline<'a>) -> &'a [Node] {
    pipeline
        .root
        .get_path(&["training", "validation", "checks"])
        .and_then(Node::as_sequence)
        .unwrap_or(&[])
}

fn number(node: &Node) -> Option<f64> {
    match node.kind {
        NodeKind::Int(value) => Some(value as f64),
        NodeKind::Float(value) => Some(value),
        _ => None,
    }
}
