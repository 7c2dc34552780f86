//! Writes a node tree back as YAML, each value annotated with where it came from.

use std::fmt::Write as _;

use super::node::{Node, NodeKind};
use super::scalar::{resolve_plain_scalar, ScalarValue};
use crate::text::Span;

/// YAML text for `node`; `origin` turns a span into a comment such as `pipelines/a.yaml:3`.
pub fn emit_annotated(node: &Node, origin: &dyn Fn(Span) -> String) -> String {
    let mut out = String::new();
    match &node.kind {
        NodeKind::Mapping(_) | NodeKind::Sequence(_) => emit_block(node, 0, origin, &mut out),
        _ => {
            let _ = writeln!(out, "{}  # {}", scalar(node), origin(node.span));
        }
    }
    out
}

fn emit_block(node: &Node, indent: usize, origin: &dyn Fn(Span) -> String, out: &mut String) {
    let pad = " ".repeat(indent);
    match &node.kind {
        NodeKind::Mapping(mapping) => {
            for entry in &mapping.entries {
                match &entry.value.kind {
                    NodeKind::Mapping(inner) if !inner.entries.is_empty() => {
                        let _ = writeln!(
                            out,
                            "{pad}{}:  # {}",
                            key(&entry.key),
                            origin(entry.key_span)
                        );
                        emit_block(&entry.value, indent + 2, origin, out);
                    }
                    NodeKind::Sequence(items) if items.iter().any(is_container) => {
                        let _ = writeln!(
                            out,
                            "{pad}{}:  # {}",
                            key(&entry.key),
                            origin(entry.key_span)
                        );
                        emit_block(&entry.value, indent + 2, origin, out);
                    }
                    _ => {
                        let _ = writeln!(
                            out,
                            "{pad}{}: {}  # {}",
                            key(&entry.key),
                            inline(&entry.value),
                            origin(entry.value.span)
                        );
                    }
                }
            }
        }
        NodeKind::Sequence(items) => {
            for item in items {
                if let NodeKind::Mapping(mapping) = &item.kind {
                    // First entry on the dash line, the rest indented under it.
                    let mut first = true;
                    for entry in &mapping.entries {
                        let lead = if first {
                            format!("{pad}- ")
                        } else {
                            format!("{pad}  ")
                        };
                        first = false;
                        if is_container(&entry.value) && !is_empty_container(&entry.value) {
                            let _ = writeln!(
                                out,
                                "{lead}{}:  # {}",
                                key(&entry.key),
                                origin(entry.key_span)
                            );
                            emit_block(&entry.value, indent + 4, origin, out);
                        } else {
                            let _ = writeln!(
                                out,
                                "{lead}{}: {}  # {}",
                                key(&entry.key),
                                inline(&entry.value),
                                origin(entry.value.span)
                            );
                        }
                    }
                    if mapping.entries.is_empty() {
                        let _ = writeln!(out, "{pad}- {{}}  # {}", origin(item.span));
                    }
                } else {
                    let _ = writeln!(out, "{pad}- {}  # {}", inline(item), origin(item.span));
                }
            }
        }
        _ => {}
    }
}

fn is_container(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Mapping(_) | NodeKind::Sequence(_))
}

fn is_empty_container(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Mapping(m) => m.entries.is_empty(),
        NodeKind::Sequence(items) => items.is_empty(),
        _ => false,
    }
}

/// A flow-style rendering for scalars and lists of scalars.
fn inline(node: &Node) -> String {
    match &node.kind {
        NodeKind::Sequence(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        NodeKind::Mapping(mapping) => format!(
            "{{{}}}",
            mapping
                .entries
                .iter()
                .map(|e| format!("{}: {}", key(&e.key), inline(&e.value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => scalar(node),
    }
}

fn scalar(node: &Node) -> String {
    match &node.kind {
        NodeKind::Null => "null".into(),
        NodeKind::Bool(value) => value.to_string(),
        NodeKind::Int(value) => value.to_string(),
        NodeKind::Float(value) => {
            if value.is_finite() && value.fract() == 0.0 {
                format!("{value:.1}")
            } else {
                value.to_string()
            }
        }
        NodeKind::String(text) => string(text),
        NodeKind::Include(path) => format!("!include {path}"),
        NodeKind::Sequence(_) | NodeKind::Mapping(_) => inline(node),
    }
}

fn key(text: &str) -> String {
    string(text)
}

/// A string, quoted when plain style would change its meaning.
fn string(text: &str) -> String {
    let plain_ok = !text.is_empty()
        && resolve_plain_scalar(text) == ScalarValue::String
        && !text.starts_with(|c: char| "{}[]&*!|>'\"%@`#,?:- ".contains(c))
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with([' ', ':'])
        && !text.contains(['\n', '\t', ',', '[', ']', '{', '}']);
    if plain_ok {
        text.to_string()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::FileId;

    #[test]
    fn round_trips_structure() {
        let text = "a:\n  b: 1\n  c: [x, \"1\"]\nd:\n  - name: q\n    t: 0.5\ne: \"yes: no\"\n";
        let node = crate::yaml::parse(FileId(0), text).root.unwrap();
        let emitted = emit_annotated(&node, &|span| format!("f:{}", span.start));
        let reparsed = crate::yaml::parse(FileId(0), &emitted).root.unwrap();
        assert_eq!(node.to_json(), reparsed.to_json(), "{emitted}");
        assert!(emitted.contains("# f:"));
    }
}
