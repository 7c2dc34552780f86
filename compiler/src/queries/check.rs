//! Whole-project checking: every diagnostic of every pipeline, base, test file and profile,
//! and the set of files a change affects (for `mbt check PATHS` in pre-commit hooks).

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::columns::{catalog_diagnostics, column_check};
use super::compose::{composition_cycle, expanded, references, resolved};
use super::parse::{is_base_name, parse_file, pipeline_index};
use super::profiles::resolved_profile;
use super::validate::validated;
use crate::dag::ALL_STEPS;
use crate::db::{Database, Db, SourceFile};
use crate::diagnostics::{Code, Diagnostic};
use crate::schema::check::SchemaCheck;
use crate::schema::tests_file::TestFile;
use crate::schema::{authoring_schema, schema_of};
use crate::text::Span;
use crate::yaml::Node;

/// Computes [`pipeline_diagnostics`] of every runnable pipeline on one clone of `db` per core
/// at once, so that a following [`check_project`] reads memos
/// instead of validating one pipeline after another. Clones share salsa's memos, and two
/// threads needing the same base wait for one computation. A panic in a thread (a
/// `salsa::Cancelled` when an input is set meanwhile) continues unwinding here.
pub fn prefetch_pipelines(db: &Database) {
    let index = pipeline_index(db, db.project());
    let files: Vec<SourceFile> = index.runnable().map(|(_, file)| file).collect();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.min(files.len());
    if threads < 2 {
        return;
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let db = db.clone();
                let files = &files;
                // Interleaved, so that each thread gets pipelines from every part of the list.
                scope.spawn(move || {
                    for file in files.iter().skip(thread).step_by(threads) {
                        pipeline_diagnostics(&db, *file);
                    }
                })
            })
            .collect();
        let mut panicked = None;
        for handle in handles {
            if let Err(payload) = handle.join() {
                panicked.get_or_insert(payload);
            }
        }
        if let Some(payload) = panicked {
            std::panic::resume_unwind(payload);
        }
    });
}

/// Every diagnostic of one pipeline: its files' syntax, composition, templates and validation.
#[salsa::tracked]
pub fn pipeline_diagnostics(db: &dyn Db, file: SourceFile) -> Arc<Vec<Diagnostic>> {
    let resolved = resolved(db, file);
    let mut diagnostics = Vec::new();
    for contributing in &resolved.files {
        diagnostics.extend(parse_file(db, *contributing).diagnostics.iter().cloned());
        diagnostics.extend(references(db, *contributing).diagnostics.iter().cloned());
    }
    diagnostics.extend(resolved.diagnostics.iter().cloned());
    for base in &resolved.bases {
        diagnostics.extend(
            super::compose::resolved(db, *base)
                .diagnostics
                .iter()
                .cloned(),
        );
    }
    diagnostics.extend(validated(db, file).diagnostics.iter().cloned());
    diagnostics.extend(column_check(db, file).diagnostics.iter().cloned());
    diagnostics.extend(
        super::manifest::target_diagnostics(db, file)
            .iter()
            .cloned(),
    );
    Arc::new(diagnostics)
}

/// A base pipeline (`_name.yaml`) checked on its own: syntax, composition and the relaxed
/// authoring schema (a base need not be complete).
#[salsa::tracked]
pub fn base_diagnostics(db: &dyn Db, file: SourceFile) -> Arc<Vec<Diagnostic>> {
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    if let Some(cycle) = composition_cycle(db, file) {
        diagnostics.push(cycle.clone());
    }
    let expanded = if diagnostics.is_empty() {
        Some(expanded(db, file))
    } else {
        None
    };
    let files = expanded
        .as_ref()
        .map(|e| e.files.clone())
        .unwrap_or_else(|| vec![file]);
    for contributing in &files {
        diagnostics.extend(parse_file(db, *contributing).diagnostics.iter().cloned());
        diagnostics.extend(references(db, *contributing).diagnostics.iter().cloned());
    }
    if let Some(root) = expanded.as_ref().and_then(|e| e.root.as_ref()) {
        static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
        let schema = SCHEMA.get_or_init(authoring_schema);
        let deferred = FxHashSet::default();
        let mut check = SchemaCheck::new(schema, &deferred);
        check.check(root, "", Span::new(file.id(db), 0, 0));
        // Templates are rendered per derived pipeline; here only the structure is checked.
        diagnostics.extend(
            check
                .diagnostics
                .into_iter()
                .filter(|d| d.code != Code::WrongType || !is_templated(root, d.span)),
        );
    }
    Arc::new(diagnostics)
}

fn is_templated(root: &Node, span: Option<Span>) -> bool {
    fn find(node: &Node, span: Span) -> Option<&Node> {
        if node.span == span {
            return Some(node);
        }
        match &node.kind {
            crate::yaml::NodeKind::Mapping(m) => {
                m.entries.iter().find_map(|e| find(&e.value, span))
            }
            crate::yaml::NodeKind::Sequence(items) => items.iter().find_map(|i| find(i, span)),
            _ => None,
        }
    }
    span.and_then(|span| find(root, span))
        .and_then(Node::as_str)
        .is_some_and(|text| text.contains("{{"))
}

/// A `tests/*.test.yaml` file: its structure, pipeline and step names.
#[salsa::tracked]
pub fn test_file_diagnostics(db: &dyn Db, file: SourceFile) -> Arc<Vec<Diagnostic>> {
    let parsed = parse_file(db, file);
    let mut diagnostics: Vec<Diagnostic> = parsed.diagnostics.clone();
    let Some(root) = &parsed.root else {
        return Arc::new(diagnostics);
    };
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(schema_of::<TestFile>);
    let deferred = FxHashSet::default();
    let mut check = SchemaCheck::new(schema, &deferred);
    check.root_name = "the test file";
    let anchor = root
        .as_mapping()
        .and_then(|m| m.entries.first())
        .map(|e| e.key_span)
        .unwrap_or(Span::new(file.id(db), 0, 0));
    check.check(root, "", anchor);
    diagnostics.extend(check.diagnostics);
    if let Some(pipeline) = root.get_path(&["pipeline"]) {
        if let Some(name) = pipeline.as_str() {
            let index = pipeline_index(db, db.project());
            if !index.by_name.contains_key(name) {
                diagnostics.push(
                    Diagnostic::at(
                        Code::TestPipelineNotFound,
                        pipeline.span,
                        format!("pipeline `{name}` not found"),
                    )
                    .with_label("no such pipeline")
                    .with_did_you_mean(name, &index.names(), pipeline.span),
                );
            }
        }
    }
    if let Some(assertions) = root.get_path(&["assertions"]).and_then(Node::as_sequence) {
        for assertion in assertions {
            for key in ["step", "before", "after"] {
                let Some(step) = assertion.get_path(&[key]) else {
                    continue;
                };
                let Some(name) = step.as_str() else { continue };
                if !ALL_STEPS.contains(&name) {
                    diagnostics.push(
                        Diagnostic::at(
                            Code::UnknownStep,
                            step.span,
                            format!("unknown step `{name}`"),
                        )
                        .with_label("not a step name")
                        .with_did_you_mean(name, ALL_STEPS, step.span),
                    );
                }
            }
            if let Some(memory) = assertion.get_path(&["memory_max"]).and_then(Node::as_str) {
                if crate::manifest::parse_quantity(memory).is_none() {
                    let span = assertion.get_path(&["memory_max"]).expect("present").span;
                    diagnostics.push(Diagnostic::invalid_quantity(span, memory));
                }
            }
            if let (Some(min), Some(max)) =
                (assertion.get_path(&["min"]), assertion.get_path(&["max"]))
            {
                if let (crate::yaml::NodeKind::Int(low), crate::yaml::NodeKind::Int(high)) =
                    (&min.kind, &max.kind)
                {
                    if low > high {
                        diagnostics.push(Diagnostic::min_greater_than_max(
                            min.span, max.span, low, high,
                        ));
                    }
                }
            }
            if assertion.get_path(&["type"]).and_then(Node::as_str) == Some("resource_limit")
                && assertion.get_path(&["memory_max"]).is_none()
                && assertion.get_path(&["cpu_max"]).is_none()
            {
                diagnostics.push(
                    Diagnostic::at(
                        Code::InvalidAssertion,
                        assertion.span,
                        "resource_limit needs `memory_max` or `cpu_max`",
                    )
                    .with_help("add `memory_max: 64Gi` or `cpu_max: 4`"),
                );
            }
        }
    }
    Arc::new(diagnostics)
}

/// Is `path` a pipeline test file?
pub fn is_test_file(path: &str) -> bool {
    path.starts_with("tests/") && (path.ends_with(".test.yaml") || path.ends_with(".test.yml"))
}

/// What `mbt check` looks at.
#[derive(Clone, Debug)]
pub struct CheckReport {
    pub diagnostics: Vec<Diagnostic>,
    /// Pipelines checked (names).
    pub pipelines: Vec<String>,
    pub test_files: Vec<String>,
}

/// Checks the whole project, or only what the changed `paths` affect.
pub fn check_project(db: &dyn Db, paths: Option<&[String]>) -> CheckReport {
    let project = db.project();
    let index = pipeline_index(db, project);
    let changed: Option<BTreeSet<&str>> =
        paths.map(|paths| paths.iter().map(String::as_str).collect());
    let profiles_path = project.profiles(db).map(|f| f.path(db).clone());
    let everything = match &changed {
        None => true,
        Some(changed) => {
            profiles_path
                .as_deref()
                .is_some_and(|p| changed.contains(p))
                || changed
                    .iter()
                    .any(|p| *p == "profiles.yaml" || *p == "pyproject.toml")
        }
    };
    let affects = |files: &[SourceFile]| {
        everything
            || files.iter().any(|f| {
                changed
                    .as_ref()
                    .is_some_and(|c| c.contains(f.path(db).as_str()))
            })
    };

    let mut diagnostics: Vec<Diagnostic> = index.diagnostics.clone();
    let mut pipelines = Vec::new();
    let mut checked_pipelines: BTreeSet<String> = BTreeSet::new();
    // Bases are checked through their dependents; a base nobody extends is checked alone.
    let mut extended: FxHashSet<SourceFile> = FxHashSet::default();
    for (name, file) in index.by_name.iter() {
        if is_base_name(name) {
            continue;
        }
        let resolved = resolved(db, *file);
        extended.extend(resolved.bases.iter().copied());
        if !affects(&resolved.files) {
            continue;
        }
        diagnostics.extend(pipeline_diagnostics(db, *file).iter().cloned());
        pipelines.push(name.clone());
        checked_pipelines.insert(name.clone());
    }
    for (name, file) in index.by_name.iter() {
        if !is_base_name(name) || extended.contains(file) {
            continue;
        }
        let files = if composition_cycle(db, *file).is_some() {
            vec![*file]
        } else {
            expanded(db, *file).files.clone()
        };
        if affects(&files) {
            diagnostics.extend(base_diagnostics(db, *file).iter().cloned());
            pipelines.push(name.clone());
        }
    }
    let mut test_files = Vec::new();
    for (path, file) in project.files(db).iter() {
        if !is_test_file(path) {
            continue;
        }
        let tested = parse_file(db, *file)
            .root
            .as_ref()
            .and_then(|root| root.get_path(&["pipeline"]))
            .and_then(Node::as_str)
            .map(str::to_string);
        let relevant = everything
            || changed.as_ref().is_some_and(|c| c.contains(path.as_str()))
            || tested.is_some_and(|name| checked_pipelines.contains(&name));
        if relevant {
            diagnostics.extend(test_file_diagnostics(db, *file).iter().cloned());
            test_files.push(path.clone());
        }
    }
    if everything || !pipelines.is_empty() {
        let profile = resolved_profile(db, project);
        diagnostics.extend(profile.diagnostics.iter().cloned());
        diagnostics.extend(catalog_diagnostics(db, project).iter().cloned());
        if let Some(profiles) = project.profiles(db) {
            diagnostics.extend(parse_file(db, profiles).diagnostics.iter().cloned());
        }
    }
    CheckReport {
        diagnostics,
        pipelines,
        test_files,
    }
}
