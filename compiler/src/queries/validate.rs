//! Validation of a resolved pipeline: templates, the schema, frameworks and cross-field rules.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::compose::resolved;
use super::python::python_functions;
use crate::db::{Db, SourceFile};
use crate::diagnostics::{suggest, Code, Diagnostic};
use crate::schema::frameworks::{framework, framework_names};
use crate::schema::pipeline::{Metric, ProblemType};
use crate::schema::{check::SchemaCheck, pipeline_schema};
use crate::template::{render_tree, TemplateContext};
use crate::text::Span;
use crate::yaml::{Node, NodeKind};

/// A validated pipeline: the rendered tree, whether it is free of errors, and what templates used.
#[derive(Clone, Debug, PartialEq)]
pub struct Validated {
    /// The merged, rendered tree (absent when the file could not be parsed or resolved).
    pub root: Option<Node>,
    /// No errors anywhere in the pipeline's files: the tree can become a typed [`Pipeline`].
    pub ok: bool,
    pub secrets: Vec<String>,
    /// Variables used and their compile-time values (`None`: left for run time).
    pub vars: Vec<(String, Option<String>)>,
    pub diagnostics: Vec<Diagnostic>,
}

#[salsa::tracked]
pub fn validated(db: &dyn Db, file: SourceFile) -> Arc<Validated> {
    let resolved = resolved(db, file);
    let mut diagnostics = Vec::new();
    let Some(mut root) = resolved.root.clone() else {
        return Arc::new(Validated {
            root: None,
            ok: false,
            secrets: Vec::new(),
            vars: Vec::new(),
            diagnostics,
        });
    };
    let settings = db.project().settings(db);
    let rendered = render_tree(
        &mut root,
        &TemplateContext {
            vars: &settings.vars,
            env: &settings.env,
        },
    );
    diagnostics.extend(rendered.diagnostics.iter().cloned());

    let name = super::parse::pipeline_name(file.path(db))
        .unwrap_or_default()
        .to_string();
    // Missing keys are reported at the pipeline's own first key, not at one inherited from a base.
    let own_root = super::parse::parse_file(db, file);
    let anchor = own_root
        .root
        .as_ref()
        .and_then(Node::as_mapping)
        .and_then(|mapping| mapping.entries.first())
        .map(|entry| entry.key_span)
        .unwrap_or(Span::new(file.id(db), 0, 0));
    if root.as_mapping().is_none() {
        diagnostics.push(
            Diagnostic::at(
                Code::WrongType,
                root.span,
                format!("a pipeline must be a mapping, found {}", root.type_name()),
            )
            .with_help("start the file with `schema_version: 1`"),
        );
        return Arc::new(Validated {
            root: Some(root),
            ok: false,
            secrets: Vec::new(),
            vars: Vec::new(),
            diagnostics,
        });
    }

    let mut check = SchemaCheck::new(pipeline_schema(), &rendered.deferred);
    check.check(&root, "", anchor);
    let own_file = file.id(db);
    // `base_pipeline` of the wrong type is reported by composition (MBT1007).
    let base_span = root.get_path(&["base_pipeline"]).map(|node| node.span);
    for mut diagnostic in check.diagnostics {
        if diagnostic.code == Code::WrongType && diagnostic.span == base_span {
            continue;
        }
        // A key missing from a section written in a base is missing for this pipeline only.
        if diagnostic.code == Code::MissingKey
            && diagnostic.span.is_some_and(|span| span.file != own_file)
        {
            diagnostic = diagnostic.with_secondary(
                anchor,
                format!("in pipeline `{name}`, which inherits the section"),
            );
        }
        diagnostics.push(diagnostic);
    }
    rules(
        db,
        &root,
        &name,
        anchor,
        &rendered.deferred,
        &mut diagnostics,
    );

    // An include that did not resolve was reported by composition; the tree is incomplete.
    let has_errors = diagnostics.iter().any(Diagnostic::is_error)
        || contains_include(&root)
        || resolved.diagnostics.iter().any(Diagnostic::is_error)
        || super::compose::references(db, file)
            .diagnostics
            .iter()
            .any(Diagnostic::is_error);
    Arc::new(Validated {
        root: Some(root),
        ok: !has_errors,
        secrets: rendered.secrets.into_iter().collect(),
        vars: rendered.vars.into_iter().collect(),
        diagnostics,
    })
}

/// Rules that relate several fields, checked on the tree so they run even when other parts of
/// the pipeline have errors.
fn rules(
    db: &dyn Db,
    root: &Node,
    name: &str,
    anchor: Span,
    deferred: &FxHashSet<Span>,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(version) = root.get_path(&["schema_version"]) {
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
    if let Some(project_name) = root.get_path(&["project", "name"]) {
        if let Some(written) = project_name.as_str() {
            if written != name && !deferred.contains(&project_name.span) {
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
    let training = root.get_path(&["training"]);
    let serving = root.get_path(&["serving"]);
    match (training, serving) {
        (None, None) => out.push(
            Diagnostic::at(Code::PipelineKind, anchor, format!("pipeline `{name}` has neither `training` nor `serving`"))
                .with_label("in this pipeline")
                .with_help("add a `training:` or `serving:` section; a file that only holds shared sections should be a base named `_NAME.yaml`"),
        ),
        (Some(training), Some(serving)) => {
            let training_entry = root.as_mapping().and_then(|m| m.entry("training")).map(|e| e.key_span).unwrap_or(training.span);
            let serving_entry = root.as_mapping().and_then(|m| m.entry("serving")).map(|e| e.key_span).unwrap_or(serving.span);
            out.push(
                Diagnostic::at(Code::PipelineKind, serving_entry, format!("pipeline `{name}` has both `training` and `serving`"))
                    .with_secondary(training_entry, "training defined here")
                    .with_help("split it into a training pipeline and a serving pipeline"),
            );
        }
        _ => {}
    }
    let problem_type = root
        .get_path(&["project", "problem_type"])
        .and_then(Node::as_str)
        .and_then(ProblemType::parse);
    if let Some(training) = training {
        let before = out.len();
        training_rules(db, training, problem_type, out);
        // Rules that depend on the problem type also show where it was set (often a base).
        if let Some(problem_node) = root.get_path(&["project", "problem_type"]) {
            for diagnostic in &mut out[before..] {
                if matches!(
                    diagnostic.code,
                    Code::MetricNotForProblemType
                        | Code::FrameworkOptionNotForProblemType
                        | Code::ModelNotSupported
                        | Code::ClassesForProblemType
                ) && !diagnostic.message.contains("has no model")
                {
                    diagnostic.labels.push(crate::diagnostics::Label {
                        span: problem_node.span,
                        message: "problem type set here".to_string(),
                    });
                }
            }
        }
    }
}

fn training_rules(
    db: &dyn Db,
    training: &Node,
    problem_type: Option<ProblemType>,
    out: &mut Vec<Diagnostic>,
) {
    // Target and classes.
    let target = training.get_path(&["schema", "target"]);
    if training
        .get_path(&["schema"])
        .is_some_and(|s| s.as_mapping().is_some())
        && target.is_none()
    {
        let schema = training.get_path(&["schema"]).expect("checked");
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
    let label = target.and_then(|t| t.get_path(&["label_column"]));
    let classes = target
        .and_then(|t| t.get_path(&["classes"]))
        .and_then(Node::as_sequence);
    let positive = target.and_then(|t| t.get_path(&["positive_class"]));
    if let Some(classes) = classes {
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
        if let Some(problem_type) = problem_type {
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
                let span = target
                    .and_then(|t| t.get_path(&["classes"]))
                    .map(|n| n.span)
                    .expect("classes exist");
                out.push(
                    Diagnostic::at(
                        Code::ClassesForProblemType,
                        span,
                        format!("{count} classes given, but {reason}"),
                    )
                    .with_label(format!("{count} classes"))
                    .with_help(match problem_type {
                        ProblemType::Regression => {
                            "remove `classes`, or change `project.problem_type`".to_string()
                        }
                        _ => "correct `classes`, or change `project.problem_type`".to_string(),
                    }),
                );
            }
        }
    }
    if let Some(positive) = positive {
        match classes {
            Some(classes)
                if !classes
                    .iter()
                    .any(|class| class.to_json() == positive.to_json()) =>
            {
                let names: Vec<String> = classes
                    .iter()
                    .map(|c| c.to_json().to_string().trim_matches('"').to_string())
                    .collect();
                let shown = positive.to_json().to_string();
                let classes_span = target
                    .and_then(|t| t.get_path(&["classes"]))
                    .map(|n| n.span)
                    .expect("classes exist");
                out.push(
                    Diagnostic::at(
                        Code::PositiveClassNotInClasses,
                        positive.span,
                        format!("positive class {shown} is not one of the classes"),
                    )
                    .with_label("not in `classes`")
                    .with_secondary(classes_span, "classes defined here")
                    .with_help(format!("use one of: {}", names.join(", "))),
                );
            }
            None if problem_type == Some(ProblemType::Regression) => out.push(
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
    // Label column not ignored.
    if let (Some(label), Some(ignored)) = (
        label.and_then(Node::as_str),
        training
            .get_path(&["schema", "ignored_columns"])
            .and_then(Node::as_sequence),
    ) {
        for column in ignored {
            if column.as_str() == Some(label) {
                out.push(
                    Diagnostic::at(
                        Code::LabelIgnored,
                        column.span,
                        format!("label column `{label}` is in `ignored_columns`"),
                    )
                    .with_label("the label")
                    .with_secondary(
                        target
                            .and_then(|t| t.get_path(&["label_column"]))
                            .map(|n| n.span)
                            .expect("label exists"),
                        "label column defined here",
                    )
                    .with_help(format!("remove `{label}` from `ignored_columns`")),
                );
            }
        }
    }
    // Joins.
    let label_table = training
        .get_path(&["data_source", "label_table"])
        .and_then(Node::as_str);
    if let Some(tables) = training
        .get_path(&["data_source", "feature_tables"])
        .and_then(Node::as_sequence)
    {
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
    // Validation checks.
    if let Some(checks) = training
        .get_path(&["validation", "checks"])
        .and_then(Node::as_sequence)
    {
        for check in checks {
            let (Some(min), Some(max)) = (check.get_path(&["min"]), check.get_path(&["max"]))
            else {
                if let Some(function) = check.get_path(&["function"]) {
                    if check.get_path(&["type"]).and_then(Node::as_str) == Some("custom") {
                        custom_function(db, function, out);
                    }
                }
                continue;
            };
            if let (Some(low), Some(high)) = (number(min), number(max)) {
                if low > high {
                    out.push(
                        Diagnostic::at(
                            Code::MinGreaterThanMax,
                            min.span,
                            format!("`min` ({low}) is greater than `max` ({high})"),
                        )
                        .with_secondary(max.span, "max defined here")
                        .with_help("swap the bounds"),
                    );
                }
            }
        }
    }
    if let Some(transforms) = training
        .get_path(&["transformations", "custom_transforms"])
        .and_then(Node::as_sequence)
    {
        for transform in transforms {
            if let NodeKind::String(_) = transform.kind {
                custom_function(db, transform, out);
            }
        }
    }
    if let Some(metrics) = training
        .get_path(&["evaluation", "custom_metrics"])
        .and_then(Node::as_sequence)
    {
        for metric in metrics {
            custom_function(db, metric, out);
        }
    }
    // Metrics for the problem type.
    if let Some(problem_type) = problem_type {
        let valid = Metric::valid_for(problem_type);
        let valid_names: Vec<&str> = valid.iter().map(|m| m.as_str()).collect();
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
    // Framework.
    if let Some(framework_node) = training.get_path(&["model_training", "framework"]) {
        if let Some(name) = framework_node.as_str() {
            match framework(name) {
                None => out.push(
                    Diagnostic::at(
                        Code::UnknownFramework,
                        framework_node.span,
                        format!("unknown framework `{name}`"),
                    )
                    .with_label("not a known framework")
                    .with_did_you_mean(
                        name,
                        &framework_names(),
                        framework_node.span,
                    ),
                ),
                Some(spec) => {
                    let config = training.get_path(&["model_training", "config"]);
                    let empty = Node {
                        kind: NodeKind::Mapping(Default::default()),
                        span: framework_node.span,
                    };
                    let config = config.unwrap_or(&empty);
                    let deferred = FxHashSet::default();
                    let mut check = SchemaCheck::new((spec.schema)(), &deferred);
                    let anchor = training
                        .get_path(&["model_training"])
                        .and_then(Node::as_mapping)
                        .and_then(|m| m.entry("config"))
                        .map(|e| e.key_span)
                        .unwrap_or(framework_node.span);
                    check.check(config, "model_training.config", anchor);
                    for mut diagnostic in check.diagnostics {
                        // The model name selects the schema branch: say which framework rejected it.
                        if diagnostic.code == Code::InvalidEnumValue
                            && diagnostic.message.contains("config.model")
                        {
                            diagnostic.code = Code::ModelNotSupported;
                            diagnostic.message = format!(
                                "{name} has no model `{}`",
                                diagnostic.message.split('`').nth(1).unwrap_or_default()
                            );
                        }
                        out.push(diagnostic);
                    }
                    if let Some(problem_type) = problem_type {
                        (spec.rules)(config, problem_type, out);
                    }
                }
            }
        }
    }
}

fn contains_include(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Include(_) => true,
        NodeKind::Sequence(items) => items.iter().any(contains_include),
        NodeKind::Mapping(mapping) => mapping
            .entries
            .iter()
            .any(|entry| contains_include(&entry.value)),
        _ => false,
    }
}

fn number(node: &Node) -> Option<f64> {
    match node.kind {
        NodeKind::Int(value) => Some(value as f64),
        NodeKind::Float(value) => Some(value),
        _ => None,
    }
}

/// Checks `lib.module.function`: the module file exists and defines the function.
fn custom_function(db: &dyn Db, node: &Node, out: &mut Vec<Diagnostic>) {
    let Some(reference) = node.as_str() else {
        return;
    };
    let parts: Vec<&str> = reference.split('.').collect();
    let valid_identifier = |part: &&str| {
        !part.is_empty()
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !part.starts_with(|c: char| c.is_ascii_digit())
    };
    if parts.len() < 2 || !parts.iter().all(valid_identifier) {
        out.push(
            Diagnostic::at(
                Code::InvalidFunctionReference,
                node.span,
                format!("`{reference}` is not a function reference"),
            )
            .with_label("expected `package.module.function`")
            .with_help(
                "write the module path and function, e.g. `lib.custom_transforms.compute_rfm`",
            ),
        );
        return;
    }
    let (function, module) = parts.split_last().expect("two parts");
    let module_path = module.join("/");
    let files = db.project().files(db);
    let file = files
        .get(&format!("{module_path}.py"))
        .or_else(|| files.get(&format!("{module_path}/__init__.py")))
        .copied();
    let Some(file) = file else {
        let modules: Vec<String> = files
            .keys()
            .filter_map(|path| path.strip_suffix(".py"))
            .map(|path| path.trim_end_matches("/__init__").replace('/', "."))
            .collect();
        let wanted = module.join(".");
        let candidate = suggest(&wanted, modules.iter().map(String::as_str));
        let help = match candidate {
            Some(candidate) => format!("did you mean `{candidate}.{function}`?"),
            None => format!("create `{module_path}.py` defining `def {function}(...)`"),
        };
        let mut diagnostic = Diagnostic::at(
            Code::CustomModuleNotFound,
            node.span,
            format!("module `{wanted}` not found (no `{module_path}.py`)"),
        )
        .with_label("module not found")
        .with_help(help);
        if let Some(candidate) = candidate {
            diagnostic = diagnostic.with_suggestion(node.span, format!("{candidate}.{function}"));
        }
        out.push(diagnostic);
        return;
    };
    let functions = python_functions(db, file);
    if !functions.iter().any(|name| name == function) {
        let names: Vec<&str> = functions.iter().map(String::as_str).collect();
        let candidate = suggest(function, names.iter().copied());
        let help = match candidate {
            Some(candidate) => format!("did you mean `{}.{candidate}`?", module.join(".")),
            None if names.is_empty() => format!(
                "`{}` defines no functions; add `def {function}(df, context):`",
                file.path(db)
            ),
            None => format!("functions in `{}`: {}", file.path(db), names.join(", ")),
        };
        let mut diagnostic = Diagnostic::at(
            Code::CustomFunctionNotFound,
            node.span,
            format!("`{}` defines no function `{function}`", file.path(db)),
        )
        .with_label("function not found")
        .with_help(help);
        if let Some(candidate) = candidate {
            diagnostic =
                diagnostic.with_suggestion(node.span, format!("{}.{candidate}", module.join(".")));
        }
        out.push(diagnostic);
    }
}
