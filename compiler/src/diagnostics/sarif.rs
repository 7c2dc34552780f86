//! SARIF 2.1.0 output for code-scanning tools (`mbt check --format sarif`).
//!
//! `artifactLocation.uri` is relative to the project root (`uriBaseId: PROJECTROOT`);
//! `region.startLine` / `startColumn` are 1-based, columns count characters.

use serde_json::{json, Value};

use super::{Code, Diagnostic, Severity, Sources};

pub fn to_value(diagnostics: &[Diagnostic], sources: &dyn Sources, mbt_version: &str) -> Value {
    let mut rule_codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    rule_codes.sort();
    rule_codes.dedup();
    let rules: Vec<Value> = rule_codes
        .iter()
        .map(|code| {
            json!({
                "id": code.as_str(),
                "name": code.name(),
                "shortDescription": {"text": code.title()},
                "fullDescription": {"text": code.docs().lines().map(|line| line.strip_prefix(' ').unwrap_or(line)).collect::<Vec<_>>().join("\n").trim()},
                "helpUri": format!("https://mbt.dev/diagnostics/{}", code.as_str()),
                "defaultConfiguration": {"level": level(code.default_severity())},
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|diagnostic| {
            let mut text = diagnostic.message.clone();
            if let Some(help) = &diagnostic.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let mut result = json!({
                "ruleId": diagnostic.code.as_str(),
                "ruleIndex": rule_codes.iter().position(|code| *code == diagnostic.code),
                "level": level(diagnostic.severity),
                "message": {"text": text},
            });
            if let Some(span) = diagnostic.span {
                result["locations"] = json!([physical_location(span, sources, None)]);
            }
            if !diagnostic.labels.is_empty() {
                result["relatedLocations"] = Value::Array(
                    diagnostic
                        .labels
                        .iter()
                        .enumerate()
                        .map(|(index, label)| {
                            physical_location(label.span, sources, Some((index, &label.message)))
                        })
                        .collect(),
                );
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "mbt",
                "version": mbt_version,
                "informationUri": "https://mbt.dev",
                "rules": rules,
            }},
            "originalUriBaseIds": {"PROJECTROOT": {"description": {"text": "the MBT project root"}}},
            "results": results,
        }],
    })
}

fn physical_location(
    span: crate::text::Span,
    sources: &dyn Sources,
    related: Option<(usize, &str)>,
) -> Value {
    let start = sources.line_column(span.file, span.start);
    let end = sources.line_column(span.file, span.end);
    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": sources.path(span.file), "uriBaseId": "PROJECTROOT"},
            "region": {
                "startLine": start.line,
                "startColumn": start.column,
                "endLine": end.line,
                "endColumn": end.column,
                "byteOffset": span.start,
                "byteLength": span.end - span.start,
            },
        },
    });
    if let Some((index, message)) = related {
        location["id"] = json!(index);
        location["message"] = json!({"text": message});
    }
    location
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}
