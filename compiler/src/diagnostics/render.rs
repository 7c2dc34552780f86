//! Terminal rendering with source snippets (ariadne); colour only when asked for.

use std::fmt::Write as _;

use ariadne::{Color, Config, IndexType, Label as AriadneLabel, Report, ReportKind};

use super::{Diagnostic, Severity, Sources};

/// How to render for a terminal.
#[derive(Clone, Copy, Debug)]
pub struct RenderConfig {
    /// ANSI colours; only when the output is a TTY.
    pub color: bool,
}

/// Renders one diagnostic as text with source snippets.
pub fn render(diagnostic: &Diagnostic, sources: &dyn Sources, config: RenderConfig) -> String {
    let kind = match diagnostic.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
        Severity::Note => ReportKind::Advice,
    };
    let Some(span) = diagnostic.span else {
        return render_without_span(diagnostic, kind);
    };
    let path = |file| sources.path(file).to_string();
    let mut report = Report::build(kind, (path(span.file), span.range()))
        .with_code(diagnostic.code.as_str())
        .with_message(&diagnostic.message)
        .with_config(
            Config::default()
                .with_color(config.color)
                .with_index_type(IndexType::Byte),
        );
    let primary_color = if diagnostic.severity == Severity::Error {
        Color::Red
    } else {
        Color::Yellow
    };
    let mut primary = AriadneLabel::new((path(span.file), span.range())).with_color(primary_color);
    // Every primary span gets a message, so the underline is never bare.
    let label = diagnostic.label.clone().unwrap_or_else(|| {
        let title = diagnostic.code.title().trim_end_matches('.');
        title[..1].to_lowercase() + &title[1..]
    });
    primary = primary.with_message(label);
    report = report.with_label(primary);
    for label in &diagnostic.labels {
        let location = sources.line_column(label.span.file, label.span.start);
        report = report.with_label(
            AriadneLabel::new((path(label.span.file), label.span.range()))
                .with_message(format!(
                    "{} ({}:{})",
                    label.message,
                    sources.path(label.span.file),
                    location.line
                ))
                .with_color(Color::Blue),
        );
    }
    if let Some(help) = &diagnostic.help {
        report = report.with_help(help);
    }
    report = report.with_note(format!("run `mbt explain {}` for details", diagnostic.code));

    let mut files: Vec<_> = std::iter::once(span.file)
        .chain(diagnostic.labels.iter().map(|label| label.span.file))
        .collect();
    files.sort();
    files.dedup();
    let cache = ariadne::sources(
        files
            .into_iter()
            .map(|file| (path(file), sources.text(file).to_string())),
    );
    let mut output = Vec::new();
    if report.finish().write(cache, &mut output).is_err() {
        return render_without_span(diagnostic, kind);
    }
    String::from_utf8_lossy(&output).into_owned()
}

fn render_without_span(diagnostic: &Diagnostic, kind: ReportKind) -> String {
    let mut text = format!("[{}] {kind}: {}\n", diagnostic.code, diagnostic.message);
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(text, "  help: {help}");
    }
    text
}

/// Renders all diagnostics followed by a one-line summary.
pub fn render_all(
    diagnostics: &[Diagnostic],
    sources: &dyn Sources,
    config: RenderConfig,
) -> String {
    let mut text = String::new();
    for diagnostic in diagnostics {
        text.push_str(&render(diagnostic, sources, config));
    }
    text
}
