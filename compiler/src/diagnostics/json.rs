//! The machine-readable JSON format of `mbt check --format json` (format version 1).
//!
//! ```json
//! {"version": 1, "diagnostics": [{"code": "MBT2001", "name": "unknown-key", "severity": "error",
//!   "message": "...", "file": "pipelines/a.yaml", "range": {"start": 10, "end": 14},
//!   "start": {"line": 2, "column": 3}, "end": {"line": 2, "column": 7}, "label": null,
//!   "labels": [...], "help": "did you mean `split`?"}], "summary": {"errors": 1, "warnings": 0}}
//! ```
//! Lines and columns are 1-based; columns count characters; ranges are byte offsets.

use serde::Serialize;

use super::{Diagnostic, Severity, Sources, Summary};
use crate::text::Span;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Report<'a> {
    pub version: u32,
    pub diagnostics: Vec<JsonDiagnostic<'a>>,
    pub summary: Summary,
}

#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: &'a str,
    #[serde(flatten)]
    pub location: Option<JsonLocation>,
    pub label: Option<&'a str>,
    pub labels: Vec<JsonLabel<'a>>,
    pub help: Option<&'a str>,
}

#[derive(Serialize)]
pub struct JsonLocation {
    pub file: String,
    pub range: JsonRange,
    pub start: JsonPosition,
    pub end: JsonPosition,
}

#[derive(Serialize)]
pub struct JsonRange {
    pub start: u32,
    pub end: u32,
}

#[derive(Serialize)]
pub struct JsonPosition {
    pub line: u32,
    pub column: u32,
}

#[derive(Serialize)]
pub struct JsonLabel<'a> {
    pub message: &'a str,
    #[serde(flatten)]
    pub location: JsonLocation,
}

pub fn location(span: Span, sources: &dyn Sources) -> JsonLocation {
    let start = sources.line_column(span.file, span.start);
    let end = sources.line_column(span.file, span.end);
    JsonLocation {
        file: sources.path(span.file).to_string(),
        range: JsonRange {
            start: span.start,
            end: span.end,
        },
        start: JsonPosition {
            line: start.line,
            column: start.column,
        },
        end: JsonPosition {
            line: end.line,
            column: end.column,
        },
    }
}

pub fn report<'a>(diagnostics: &'a [Diagnostic], sources: &dyn Sources) -> Report<'a> {
    Report {
        version: FORMAT_VERSION,
        diagnostics: diagnostics
            .iter()
            .map(|diagnostic| JsonDiagnostic {
                code: diagnostic.code.as_str(),
                name: diagnostic.code.name(),
                severity: diagnostic.severity,
                message: &diagnostic.message,
                location: diagnostic.span.map(|span| location(span, sources)),
                label: diagnostic.label.as_deref(),
                labels: diagnostic
                    .labels
                    .iter()
                    .map(|label| JsonLabel {
                        message: &label.message,
                        location: location(label.span, sources),
                    })
                    .collect(),
                help: diagnostic.help.as_deref(),
            })
            .collect(),
        summary: Summary::of(diagnostics),
    }
}

/// The report as pretty JSON text.
pub fn to_string(diagnostics: &[Diagnostic], sources: &dyn Sources) -> String {
    serde_json::to_string_pretty(&report(diagnostics, sources)).unwrap_or_default()
}
