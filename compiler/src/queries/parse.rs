//! The per-file parse query and the project's pipeline index.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::db::{Db, Project, SourceFile};
use crate::diagnostics::{Code, Diagnostic};
use crate::text::Span;
use crate::yaml::{self, Node, YamlErrorKind};

/// A parsed file: its tree (absent after a syntax error or when empty) and its diagnostics.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFile {
    pub root: Option<Node>,
    pub diagnostics: Vec<Diagnostic>,
}

#[salsa::tracked]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> Arc<ParsedFile> {
    let id = file.id(db);
    let text = file.text(db);
    let parsed = yaml::parse(id, text);
    let mut diagnostics: Vec<Diagnostic> = parsed
        .errors
        .into_iter()
        .map(|error| {
            let code = match error.kind {
                YamlErrorKind::Syntax => Code::YamlSyntax,
                YamlErrorKind::DuplicateKey => Code::DuplicateKey,
                YamlErrorKind::NonStringKey => Code::NonStringKey,
                YamlErrorKind::UnknownTag => Code::UnknownTag,
                YamlErrorKind::IncludeNotScalar => Code::IncludeNotScalar,
                YamlErrorKind::MultipleDocuments => Code::MultipleDocuments,
            };
            let mut diagnostic = Diagnostic::at(code, error.span, error.message);
            diagnostic = match error.kind {
                YamlErrorKind::Syntax => diagnostic
                    .with_label("syntax error here")
                    .with_help("check indentation (spaces only), brackets and quotes; strings starting with `{`, `[`, `*`, `&`, `!` or `%` need quotes"),
                YamlErrorKind::DuplicateKey => diagnostic
                    .with_label("second occurrence")
                    .with_help("remove one of the two keys"),
                YamlErrorKind::NonStringKey => diagnostic.with_help("use a plain string as the key"),
                YamlErrorKind::UnknownTag => diagnostic
                    .with_label("unknown tag")
                    .with_help("the only custom tag is `!include PATH`; remove the tag or use `!include`"),
                YamlErrorKind::IncludeNotScalar => diagnostic.with_help("write `!include path/to/file.yaml`"),
                YamlErrorKind::MultipleDocuments => diagnostic
                    .with_label("second document")
                    .with_help("move each document into its own file"),
            };
            if let Some(related) = error.related {
                diagnostic = diagnostic.with_secondary(related, "first defined here");
            }
            diagnostic
        })
        .collect();
    if parsed.root.is_none() && diagnostics.is_empty() {
        diagnostics.push(
            Diagnostic::at(
                Code::EmptyFile,
                Span::new(id, 0, 0),
                format!("`{}` is empty", file.path(db)),
            )
            .with_help("add content, or delete the file"),
        );
    }
    Arc::new(ParsedFile {
        root: parsed.root,
        diagnostics,
    })
}

/// Pipelines by name (file stem under `pipelines/`).
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineIndex {
    pub by_name: BTreeMap<String, SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
}

impl PipelineIndex {
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    /// Names of pipelines meant to be compiled (not `_`-prefixed bases).
    pub fn runnable(&self) -> impl Iterator<Item = (&str, SourceFile)> {
        self.by_name
            .iter()
            .filter(|(name, _)| !is_base_name(name))
            .map(|(name, file)| (name.as_str(), *file))
    }
}

/// Pipelines whose name starts with `_` are bases: merged into others, not compiled alone.
pub fn is_base_name(name: &str) -> bool {
    name.starts_with('_')
}

/// The pipeline name of a path under `pipelines/`, if it is one.
pub fn pipeline_name(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("pipelines/")?;
    let file_name = rest.rsplit('/').next()?;
    file_name
        .strip_suffix(".yaml")
        .or_else(|| file_name.strip_suffix(".yml"))
}

#[salsa::tracked]
pub fn pipeline_index(db: &dyn Db, project: Project) -> Arc<PipelineIndex> {
    let mut by_name = BTreeMap::new();
    let mut diagnostics = Vec::new();
    for (path, file) in project.files(db).iter() {
        let Some(name) = pipeline_name(path) else {
            continue;
        };
        if let Some(first) = by_name.insert(name.to_string(), *file) {
            let first: SourceFile = first;
            by_name.insert(name.to_string(), first);
            diagnostics.push(
                Diagnostic::at(
                    Code::DuplicatePipeline,
                    first_line(db, *file),
                    format!("pipeline `{name}` is defined twice"),
                )
                .with_secondary(first_line(db, first), "first defined here")
                .with_help(format!("rename `{path}` or `{}`", first.path(db))),
            );
        }
    }
    Arc::new(PipelineIndex {
        by_name,
        diagnostics,
    })
}

/// The first line of a file, for diagnostics about the file as a whole.
fn first_line(db: &dyn Db, file: SourceFile) -> Span {
    let text = file.text(db);
    let end = text.find('\n').unwrap_or(text.len());
    Span::new(file.id(db), 0, end as u32)
}
