//! Validation of a resolved pipeline: templates, then the schema, then the rules that relate
//! several fields (`rules`, one function per rule), frameworks and adapters included.

mod custom;
mod rules;

use std::sync::Arc;

use super::compose::resolved;
use crate::db::{Db, SourceFile};
use crate::diagnostics::{Code, Diagnostic};
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
    let run_vars = run_vars(&root);
    // The target's `vars:`, under `--vars`.
    let profile = super::profiles::resolved_profile(db, db.project());
    let mut vars = profile.vars.clone();
    vars.extend(settings.vars.clone());
    let rendered = render_tree(
        &mut root,
        &TemplateContext {
            vars: &vars,
            env: &settings.env,
            run_vars: &run_vars,
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
    rules::check(
        &rules::Pipeline {
            db,
            root: &root,
            name: &name,
            anchor,
            deferred: &rendered.deferred,
        },
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

/// The pipeline's `run_vars`: variables given at run time.
fn run_vars(root: &Node) -> Vec<String> {
    root.get_path(&["run_vars"])
        .and_then(Node::as_sequence)
        .unwrap_or(&[])
        .iter()
        .filter_map(|item| item.as_str().map(str::to_string))
        .collect()
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
