//! One diagnostic type for every user-facing problem, and its renderings.
//!
//! Diagnostics are data ([`Diagnostic`]); rendering is separate: [`render`] for terminals,
//! [`json`] for tools and [`sarif`] for code-scanning. The LSP conversion lives in the `lsp` crate.

pub mod json;
pub mod render;
pub mod sarif;

pub use mbt_contract::codes::{Code, Severity};
pub use mbt_contract::suggest::{did_you_mean, suggest};
use serde::Serialize;

use crate::text::{FileId, LineColumn, Span};

/// A secondary location with a message, possibly in another file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// A machine-applicable fix: replace the text at `span` with `replacement`. Set where a
/// "did you mean" help names one candidate; editors offer it as a quick fix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Suggestion {
    pub span: Span,
    pub replacement: String,
}

/// A problem in the user's project.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Short, lowercase, no final period.
    pub message: String,
    /// Where the problem is; absent only for problems with no source location (a CLI argument).
    pub span: Option<Span>,
    /// Text under the primary span.
    pub label: Option<String>,
    pub labels: Vec<Label>,
    /// How to fix it, e.g. "did you mean `roc_auc`?".
    pub help: Option<String>,
    /// The fix `help` proposes, when it is one exact replacement.
    pub suggestion: Option<Suggestion>,
}

impl Diagnostic {
    pub fn new(code: Code, span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            span,
            label: None,
            labels: Vec::new(),
            help: None,
            suggestion: None,
        }
    }

    pub fn at(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(code, Some(span), message)
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the fix: replace `span` with `replacement`.
    pub fn with_suggestion(mut self, span: Span, replacement: impl Into<String>) -> Diagnostic {
        self.suggestion = Some(Suggestion {
            span,
            replacement: replacement.into(),
        });
        self
    }

    /// Help from [`did_you_mean`], plus the fix (replace `span` with the candidate) when one
    /// candidate is close enough.
    pub fn with_did_you_mean(self, input: &str, candidates: &[&str], span: Span) -> Diagnostic {
        let diagnostic = self.with_help(did_you_mean(input, candidates));
        match suggest(input, candidates.iter().copied()) {
            Some(candidate) => diagnostic.with_suggestion(span, candidate),
            None => diagnostic,
        }
    }

    pub fn with_optional_help(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// MBT2010 at a `min` greater than its `max` (validation checks, test assertions).
    pub fn min_greater_than_max(
        min: Span,
        max: Span,
        low: impl std::fmt::Display,
        high: impl std::fmt::Display,
    ) -> Diagnostic {
        Diagnostic::at(
            Code::MinGreaterThanMax,
            min,
            format!("`min` ({low}) is greater than `max` ({high})"),
        )
        .with_secondary(max, "max defined here")
        .with_help("swap the bounds")
    }

    /// MBT2023 at a memory quantity that does not parse (executor resources, test assertions).
    pub fn invalid_quantity(span: Span, text: &str) -> Diagnostic {
        Diagnostic::at(
            Code::InvalidQuantity,
            span,
            format!("`{text}` is not a memory quantity"),
        )
        .with_label("expected e.g. 64Gi")
        .with_help("write a number with an optional suffix: Ki, Mi, Gi, Ti, k, M, G, T")
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The order in which diagnostics are shown: by file, offset, then code.
    pub fn sort_key(&self, sources: &dyn Sources) -> (String, u32, Code, String) {
        match self.span {
            Some(span) => (
                sources.path(span.file).to_string(),
                span.start,
                self.code,
                self.message.clone(),
            ),
            None => (String::new(), 0, self.code, self.message.clone()),
        }
    }
}

/// Sorts by file, offset and code, and drops exact duplicates (a base pipeline's error is found
/// once per derived pipeline).
pub fn sort_and_dedup(diagnostics: &mut Vec<Diagnostic>, sources: &dyn Sources) {
    diagnostics.sort_by_cached_key(|diagnostic| diagnostic.sort_key(sources));
    diagnostics.dedup();
}

/// What renderers need to know about files: their display path and text.
pub trait Sources {
    /// Path relative to the project root, with `/` separators.
    fn path(&self, file: FileId) -> &str;
    fn text(&self, file: FileId) -> &str;

    fn line_column(&self, file: FileId, offset: u32) -> LineColumn {
        let text = self.text(file);
        crate::text::LineIndex::new(text).line_column(text, offset)
    }
}

/// Counts of errors and warnings, for summaries and exit codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
}

impl Summary {
    pub fn of(diagnostics: &[Diagnostic]) -> Summary {
        let mut summary = Summary::default();
        for diagnostic in diagnostics {
            match diagnostic.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Note => {}
            }
        }
        summary
    }
}
