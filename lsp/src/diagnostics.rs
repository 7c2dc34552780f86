//! The diagnostics the server publishes: exactly `mbt check`'s, converted to LSP, plus a
//! pointer in each dependent pipeline to problems located in its bases and includes.
//!
//! Nothing here validates: the list is `check_project` (the query `mbt check` runs) over the
//! whole project. A diagnostic keeps its code, message and labels; `help` becomes a second
//! line of the message; `codeDescription` links to `{DOCS_URL}/CODE`. A problem found while
//! checking pipeline `P` but located in another file (its base, an included fragment) is
//! also shown in `P`, at the `base_pipeline` value or `!include` through which it arrives,
//! with the real location as related information: editing a base re-publishes its dependents.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
};
use mbt_compiler::diagnostics::{sort_and_dedup, Code, Severity, Sources};
use mbt_compiler::queries::check::{
    base_diagnostics, check_project, pipeline_diagnostics, prefetch_pipelines,
};
use mbt_compiler::queries::compose::{
    composition_cycle, expanded, references, resolved, ReferenceKind,
};
use mbt_compiler::queries::parse::{is_base_name, parse_file, pipeline_index, pipeline_name};
use mbt_compiler::queries::validate::validated;
use mbt_compiler::text::{FileId, Span};
use mbt_compiler::{Database, Db, Diagnostic, SourceFile};
use serde::{Deserialize, Serialize};

use crate::position::LineMap;
use crate::DOCS_URL;

/// What one diagnostics pass found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Published {
    /// LSP diagnostics by project-relative path (or absolute path for a profiles file outside
    /// the project). Files without diagnostics are absent.
    pub files: BTreeMap<String, Vec<lsp_types::Diagnostic>>,
    /// Diagnostics with no location (e.g. a missing profiles.yaml), rendered as text.
    pub unlocated: Vec<String>,
    /// The changed files and every pipeline built from them: re-published even when unchanged.
    pub affected: BTreeSet<String>,
}

/// References to a pass's query results (each pipeline's parsed, merged and validated trees),
/// kept by the server for two more passes. Salsa frees the results an edit replaced when the
/// next input is set, on the thread that sets it: the server's main loop, between a keystroke
/// and its diagnostics pass. With these references alive that free only drops a count, and the
/// memory goes when the server releases the references, on a thread of its own.
pub type Retained = Vec<Arc<dyn std::any::Any + Send + Sync>>;

/// The results of the current revision that [`Retained`] describes.
pub fn retain(db: &Database) -> Retained {
    let mut out: Retained = Vec::new();
    for (_, file) in pipeline_index(db, db.project()).runnable() {
        let resolved = resolved(db, file);
        for contributing in &resolved.files {
            out.push(parse_file(db, *contributing).clone());
        }
        out.push(expanded(db, file).clone());
        out.push(validated(db, file).clone());
        out.push(pipeline_diagnostics(db, file).clone());
        out.push(resolved.clone());
    }
    out
}

/// A quick fix carried in `Diagnostic.data`: replace `range` with `new_text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixData {
    pub title: String,
    pub range: lsp_types::Range,
    pub new_text: String,
}

/// Every diagnostic of the project, as `mbt check` reports them, grouped by file.
pub fn compute(
    db: &Database,
    root: &Path,
    invalid_utf8: &BTreeMap<String, u32>,
    changed: &BTreeSet<String>,
) -> Published {
    let mut diagnostics = load_diagnostics(db, invalid_utf8);
    prefetch_pipelines(db);
    diagnostics.extend(check_project(db, None).diagnostics);
    sort_and_dedup(&mut diagnostics, db);
    let mut converter = Converter::new(db, root);
    let mut published = Published::default();
    for diagnostic in &diagnostics {
        match diagnostic.span {
            Some(span) => {
                let converted = converter.convert(diagnostic, span);
                published
                    .files
                    .entry(db.path(span.file).to_string())
                    .or_default()
                    .push(converted);
            }
            None => published.unlocated.push(unlocated_text(diagnostic)),
        }
    }
    for (path, pointers) in dependent_pointers(db, &mut converter, changed, &mut published.affected)
    {
        let list = published.files.entry(path).or_default();
        list.extend(pointers);
        list.sort_by_key(|d| (d.range.start.line, d.range.start.character));
    }
    published.affected.extend(changed.iter().cloned());
    published
}

/// The diagnostics [`compute`] would publish for those of `paths` that only their own check
/// can reach: runnable pipelines that no other YAML file of the project could refer to (none
/// mentions the pipeline's name). The rest of `paths` is left out; the full pass publishes it.
/// This needs the pipeline's files only, not the project's: the first diagnostics of an opened
/// document come before the whole project is checked.
pub fn compute_standalone(
    db: &Database,
    root: &Path,
    invalid_utf8: &BTreeMap<String, u32>,
    paths: &BTreeSet<String>,
) -> BTreeMap<String, Vec<lsp_types::Diagnostic>> {
    let mut converter = Converter::new(db, root);
    let mut out = BTreeMap::new();
    for path in paths {
        let Some(file) = standalone(db, path) else {
            continue;
        };
        let own = file.id(db);
        // The same sources, in the same order, as `compute` (the project check adds nothing
        // located in a file that no other file refers to).
        let invalid: BTreeMap<String, u32> = invalid_utf8
            .get(path)
            .map(|offset| (path.clone(), *offset))
            .into_iter()
            .collect();
        let mut diagnostics = load_diagnostics(db, &invalid);
        diagnostics.extend(pipeline_index(db, db.project()).diagnostics.iter().cloned());
        let checked = pipeline_diagnostics(db, file);
        diagnostics.extend(checked.iter().cloned());
        diagnostics.retain(|d| d.span.is_some_and(|span| span.file == own));
        sort_and_dedup(&mut diagnostics, db);
        let mut list: Vec<lsp_types::Diagnostic> = diagnostics
            .iter()
            .map(|d| converter.convert(d, d.span.expect("retained on a span")))
            .collect();
        if composition_cycle(db, file).is_none() {
            let mut pointers = BTreeMap::new();
            point(db, &mut converter, file, &checked[..], &mut pointers);
            if let Some(mut found) = pointers.remove(path) {
                found.dedup();
                list.extend(found);
                list.sort_by_key(|d| (d.range.start.line, d.range.start.character));
            }
        }
        out.insert(path.clone(), list);
    }
    out
}

/// The runnable pipeline at `path`, if nothing else in the project can contribute diagnostics
/// to it: no other YAML file mentions its name (a `base_pipeline` value or an `!include` path
/// would), nor holds a backslash (an escaped name in a double-quoted scalar).
fn standalone(db: &Database, path: &str) -> Option<SourceFile> {
    let name = pipeline_name(path)?;
    if is_base_name(name) || name.is_empty() {
        return None;
    }
    let file = db.file(path)?;
    if pipeline_index(db, db.project()).by_name.get(name) != Some(&file) {
        return None;
    }
    let mentioned = db.project().files(db).iter().any(|(other, other_file)| {
        other != path && (other.ends_with(".yaml") || other.ends_with(".yml")) && {
            let text = other_file.text(db);
            text.contains(name) || text.contains('\\')
        }
    });
    (!mentioned).then_some(file)
}

/// The host's own diagnostics: files read from disk that were not UTF-8 (as `mbt check`).
fn load_diagnostics(db: &Database, invalid_utf8: &BTreeMap<String, u32>) -> Vec<Diagnostic> {
    invalid_utf8
        .iter()
        .filter_map(|(path, offset)| {
            let file = db.file(path)?;
            Some(
                Diagnostic::at(
                    Code::InvalidUtf8,
                    Span::new(file.id(db), *offset, *offset),
                    format!("`{path}` is not valid UTF-8"),
                )
                .with_label("invalid byte here")
                .with_help("re-save the file as UTF-8"),
            )
        })
        .collect()
}

fn unlocated_text(diagnostic: &Diagnostic) -> String {
    match &diagnostic.help {
        Some(help) => format!(
            "{}: {} (help: {help})",
            diagnostic.code.as_str(),
            diagnostic.message
        ),
        None => format!("{}: {}", diagnostic.code.as_str(), diagnostic.message),
    }
}

/// For each pipeline, its diagnostics located in other files, shown at the reference through
/// which they arrive. Fills `affected` with pipelines built from a changed file.
fn dependent_pointers(
    db: &Database,
    converter: &mut Converter<'_>,
    changed: &BTreeSet<String>,
    affected: &mut BTreeSet<String>,
) -> BTreeMap<String, Vec<lsp_types::Diagnostic>> {
    let index = pipeline_index(db, db.project());
    let mut extended: std::collections::HashSet<SourceFile> = Default::default();
    let mut out: BTreeMap<String, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    for (_, file) in index.runnable() {
        let resolved = resolved(db, file);
        extended.extend(resolved.bases.iter().copied());
        if resolved
            .files
            .iter()
            .any(|contributing| changed.contains(contributing.path(db).as_str()))
        {
            affected.insert(file.path(db).clone());
        }
        if composition_cycle(db, file).is_some() {
            continue;
        }
        let diagnostics = pipeline_diagnostics(db, file);
        point(db, converter, file, &diagnostics[..], &mut out);
    }
    for (name, file) in index.by_name.iter() {
        if !is_base_name(name) || extended.contains(file) || composition_cycle(db, *file).is_some()
        {
            continue;
        }
        let files = &expanded(db, *file).files;
        if files
            .iter()
            .any(|contributing| changed.contains(contributing.path(db).as_str()))
        {
            affected.insert(file.path(db).clone());
        }
        let diagnostics = base_diagnostics(db, *file);
        point(db, converter, *file, &diagnostics[..], &mut out);
    }
    for list in out.values_mut() {
        list.dedup();
    }
    out
}

fn point(
    db: &Database,
    converter: &mut Converter<'_>,
    file: SourceFile,
    diagnostics: &[Diagnostic],
    out: &mut BTreeMap<String, Vec<lsp_types::Diagnostic>>,
) {
    let own = file.id(db);
    let foreign = diagnostics
        .iter()
        .filter(|d| d.span.is_some_and(|span| span.file != own));
    let mut seen: BTreeSet<(Span, Code, String)> = BTreeSet::new();
    for diagnostic in foreign {
        let span = diagnostic.span.expect("filtered on a span");
        let Some(through) = arriving_reference(db, file, span.file) else {
            continue;
        };
        if !seen.insert((through, diagnostic.code, diagnostic.message.clone())) {
            continue;
        }
        let pointer = converter.pointer(diagnostic, span, through);
        out.entry(file.path(db).clone()).or_default().push(pointer);
    }
}

/// The span of the `base_pipeline` or `!include` of `file` through which `target` contributes.
fn arriving_reference(db: &Database, file: SourceFile, target: FileId) -> Option<Span> {
    references(db, file)
        .references
        .iter()
        .find(|reference| {
            reference.target.is_some_and(|t| {
                let files = match reference.kind {
                    ReferenceKind::Base => resolved(db, t).files.clone(),
                    ReferenceKind::Include => expanded(db, t).files.clone(),
                };
                files.iter().any(|f| f.id(db) == target)
            })
        })
        .map(|reference| reference.span)
}

/// Converts compiler diagnostics to LSP ones, caching line maps per file.
pub struct Converter<'a> {
    db: &'a Database,
    root: &'a Path,
    maps: HashMap<FileId, LineMap<'a>>,
}

impl<'a> Converter<'a> {
    pub fn new(db: &'a Database, root: &'a Path) -> Converter<'a> {
        Converter {
            db,
            root,
            maps: HashMap::new(),
        }
    }

    pub fn range(&mut self, span: Span) -> lsp_types::Range {
        let db = self.db;
        self.maps
            .entry(span.file)
            .or_insert_with(|| LineMap::new(db.text(span.file)))
            .span_range(span)
    }

    pub fn location(&mut self, span: Span) -> Location {
        let uri = crate::uri::from_path(&self.root.join(self.db.path(span.file)));
        Location::new(uri, self.range(span))
    }

    pub fn convert(&mut self, diagnostic: &Diagnostic, span: Span) -> lsp_types::Diagnostic {
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<DiagnosticRelatedInformation> = diagnostic
            .labels
            .iter()
            .map(|label| DiagnosticRelatedInformation {
                location: self.location(label.span),
                message: label.message.clone(),
            })
            .collect();
        let data = diagnostic.suggestion.as_ref().map(|suggestion| {
            serde_json::to_value(FixData {
                title: format!("Replace with `{}`", suggestion.replacement),
                range: self.range(suggestion.span),
                new_text: suggestion.replacement.clone(),
            })
            .expect("fix data serializes")
        });
        lsp_types::Diagnostic {
            range: self.range(span),
            severity: Some(severity(diagnostic.severity)),
            code: Some(NumberOrString::String(diagnostic.code.as_str().to_string())),
            code_description: code_description(diagnostic.code),
            source: Some("mbt".to_string()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            tags: None,
            data,
        }
    }

    /// The diagnostic shown in a dependent file at the reference `through`.
    fn pointer(
        &mut self,
        diagnostic: &Diagnostic,
        span: Span,
        through: Span,
    ) -> lsp_types::Diagnostic {
        let location = self.location(span);
        let line = location.range.start.line + 1;
        let mut related = vec![DiagnosticRelatedInformation {
            location,
            message: diagnostic
                .label
                .clone()
                .unwrap_or_else(|| diagnostic.message.clone()),
        }];
        for label in &diagnostic.labels {
            related.push(DiagnosticRelatedInformation {
                location: self.location(label.span),
                message: label.message.clone(),
            });
        }
        lsp_types::Diagnostic {
            range: self.range(through),
            severity: Some(severity(diagnostic.severity)),
            code: Some(NumberOrString::String(diagnostic.code.as_str().to_string())),
            code_description: code_description(diagnostic.code),
            source: Some("mbt".to_string()),
            message: format!(
                "{} (in {}:{line})",
                diagnostic.message,
                self.db.path(span.file)
            ),
            related_information: Some(related),
            tags: None,
            data: None,
        }
    }
}

fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    }
}

/// The link to a code's explanation.
pub fn code_description(code: Code) -> Option<CodeDescription> {
    let href = format!("{DOCS_URL}/{}", code.as_str()).parse().ok()?;
    Some(CodeDescription { href })
}
