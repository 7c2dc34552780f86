//! Where the cursor is: a key path from the text alone (works on half-typed YAML, for
//! completion), or a node of the parsed tree (for hover, definition and friends).

use mbt_compiler::queries::compose::{references, ReferenceKind};
use mbt_compiler::queries::parse::parse_file;
use mbt_compiler::text::Span;
use mbt_compiler::yaml::{Entry, Node, NodeKind};
use mbt_compiler::{Db, SourceFile};

/// One step of a path into a YAML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    /// Any item of a list.
    Item,
}

/// The cursor's place, read from the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextContext {
    /// From the root to the mapping (or list) the cursor is in.
    pub path: Vec<Segment>,
    pub kind: CursorKind,
    /// The partly typed word before the cursor, and where it starts (byte offset).
    pub prefix: String,
    pub prefix_start: usize,
    /// Keys already written in the same mapping, with their scalar values.
    pub siblings: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorKind {
    /// Typing a key of the mapping at `path`.
    Key,
    /// Typing the value of `key` (in the mapping at `path`).
    Value { key: String },
    /// Typing an item of a list: inline `[a, b]` or a `- x` line; `path` ends with the list's key.
    Item,
}

struct Line<'a> {
    indent: usize,
    /// Text after the indentation and any `- ` markers.
    content: &'a str,
    /// Column where `content` starts.
    content_column: usize,
    dashed: bool,
}

fn split_line(line: &str) -> Line<'_> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut content = &line[indent..];
    let mut column = indent;
    let mut dashed = false;
    while let Some(rest) = content
        .strip_prefix("- ")
        .or_else(|| (content == "-").then_some(""))
    {
        dashed = true;
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        column += content.len() - rest.len() + spaces;
        content = &rest[spaces..];
    }
    Line {
        indent,
        content,
        content_column: column,
        dashed,
    }
}

/// The key of a `key:` / `key: value` line, if it is one.
fn key_of(content: &str) -> Option<(&str, &str)> {
    let colon = content
        .find(": ")
        .or_else(|| content.ends_with(':').then(|| content.len() - 1))?;
    let key = content[..colon]
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    if key.is_empty() || key.starts_with('#') || key.contains(' ') || key.starts_with(['{', '[']) {
        return None;
    }
    let value = content[colon + 1..].trim();
    let value = value.split(" #").next().unwrap_or(value).trim();
    Some((key, value))
}

fn is_blank(content: &str) -> bool {
    let trimmed = content.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// Reads the cursor's context at byte `offset` of `text`.
pub fn text_context(text: &str, offset: usize) -> TextContext {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let before = &text[line_start..offset];
    let line = split_line(before);
    let (kind, prefix_start, mut path_tail) = match key_of(line.content) {
        Some((key, _)) => {
            let colon = line.content.find(':').unwrap_or(0);
            let after = &line.content[colon + 1..];
            let value_start = line_start + line.content_column + colon + 1;
            match after.rfind(['[', ',']) {
                Some(position) if after.trim_start().starts_with('[') => {
                    let start = value_start + position + 1;
                    let start = start
                        + (text[start..offset].len() - text[start..offset].trim_start().len());
                    (CursorKind::Item, start, vec![Segment::Key(key.to_string())])
                }
                _ => {
                    let start = value_start + (after.len() - after.trim_start().len());
                    (
                        CursorKind::Value {
                            key: key.to_string(),
                        },
                        start,
                        Vec::new(),
                    )
                }
            }
        }
        None if line.dashed => (
            CursorKind::Key,
            line_start + line.content_column,
            vec![Segment::Item],
        ),
        None => (
            CursorKind::Key,
            line_start + line.content_column,
            Vec::new(),
        ),
    };
    let prefix = text[prefix_start.min(offset)..offset].to_string();

    // Walk up: lines with less indentation are ancestors; equal indentation are siblings.
    let mut column = if line.dashed {
        line.indent
    } else {
        line.content_column
    };
    let mut path: Vec<Segment> = Vec::new();
    let mut siblings = Vec::new();
    let mut in_own_mapping = true;
    let mut sibling_column = line.content_column;
    let previous = text[..line_start].lines().rev();
    for previous_line in previous {
        if column == 0 && !line.dashed && path.is_empty() && !in_own_mapping {
            break;
        }
        let current = split_line(previous_line);
        if is_blank(current.content) && !current.dashed {
            continue;
        }
        if in_own_mapping && current.content_column == sibling_column {
            if let Some((key, value)) = key_of(current.content) {
                siblings.push((key.to_string(), value.to_string()));
            }
            if current.dashed && current.content_column == line.content_column && !line.dashed {
                // The first key of the list item holding the cursor's mapping.
                path.push(Segment::Item);
                column = current.indent;
                in_own_mapping = false;
            }
            continue;
        }
        if current.content_column < column || (current.dashed && current.indent < column) {
            in_own_mapping = false;
            if current.dashed && current.content_column < column {
                if let Some((key, value)) = key_of(current.content) {
                    if value.is_empty() {
                        path.push(Segment::Key(key.to_string()));
                    }
                }
                path.push(Segment::Item);
                column = current.indent;
            } else if current.dashed {
                path.push(Segment::Item);
                column = current.indent;
            } else if let Some((key, _)) = key_of(current.content) {
                path.push(Segment::Key(key.to_string()));
                column = current.indent;
            } else {
                column = current.indent;
            }
            if column == 0 && !current.dashed {
                break;
            }
        } else if current.content_column > column {
            continue;
        }
        sibling_column = usize::MAX;
    }
    path.reverse();
    path.append(&mut path_tail);
    TextContext {
        path,
        kind,
        prefix,
        prefix_start,
        siblings,
    }
}

/// What the cursor is on in the parsed tree.
#[derive(Clone, Debug)]
pub enum Hit<'a> {
    Key(&'a Entry),
    Value(&'a Node),
}

/// The path to, and the key or value at, byte `offset` of a parsed tree.
pub fn node_at(root: &Node, offset: u32) -> Option<(Vec<Segment>, Hit<'_>)> {
    let mut path = Vec::new();
    let mut node = root;
    if !contains(node.span, offset) {
        return None;
    }
    loop {
        match &node.kind {
            NodeKind::Mapping(mapping) => {
                let found = mapping.entries.iter().find(|entry| {
                    contains(entry.key_span, offset) || contains(entry.value.span, offset)
                });
                let Some(entry) = found else {
                    return Some((path, Hit::Value(node)));
                };
                path.push(Segment::Key(entry.key.clone()));
                if contains(entry.key_span, offset) {
                    return Some((path, Hit::Key(entry)));
                }
                node = &entry.value;
            }
            NodeKind::Sequence(items) => {
                let Some(item) = items.iter().find(|item| contains(item.span, offset)) else {
                    return Some((path, Hit::Value(node)));
                };
                path.push(Segment::Item);
                node = item;
            }
            _ => return Some((path, Hit::Value(node))),
        }
    }
}

fn contains(span: Span, offset: u32) -> bool {
    span.start <= offset && offset <= span.end && span.start < span.end
}

/// The node at a path of a tree, following list items by `index` (the first item for `Item`).
pub fn get<'a>(root: &'a Node, path: &[Segment]) -> Option<&'a Node> {
    path.iter().try_fold(root, |node, segment| match segment {
        Segment::Key(key) => node.as_mapping()?.get(key),
        Segment::Item => node.as_sequence()?.first(),
    })
}

/// The entry of the last key of `path` in a tree.
pub fn entry<'a>(root: &'a Node, path: &[Segment]) -> Option<&'a Entry> {
    let (last, parent) = path.split_last()?;
    let Segment::Key(key) = last else {
        return None;
    };
    get(root, parent)?.as_mapping()?.entry(key)
}

/// Where a fragment is included: the key path of the first `!include` of it in a pipeline.
pub fn include_prefix(db: &dyn Db, fragment: SourceFile) -> Vec<Segment> {
    for (_, file) in db.project().files(db).iter() {
        let refs = references(db, *file);
        let Some(reference) = refs
            .references
            .iter()
            .find(|r| r.kind == ReferenceKind::Include && r.target == Some(fragment))
        else {
            continue;
        };
        let parsed = parse_file(db, *file);
        let Some(root) = &parsed.root else { continue };
        if let Some((mut path, _)) = node_at(root, reference.span.start + 1) {
            if mbt_compiler::queries::parse::pipeline_name(file.path(db)).is_none() {
                let mut outer = include_prefix_bounded(db, *file);
                outer.append(&mut path);
                return outer;
            }
            return path;
        }
    }
    Vec::new()
}

/// One level of nesting for fragments included from fragments (no recursion into cycles).
fn include_prefix_bounded(db: &dyn Db, fragment: SourceFile) -> Vec<Segment> {
    for (path, file) in db.project().files(db).iter() {
        if mbt_compiler::queries::parse::pipeline_name(path).is_none() {
            continue;
        }
        let refs = references(db, *file);
        if let Some(reference) = refs
            .references
            .iter()
            .find(|r| r.kind == ReferenceKind::Include && r.target == Some(fragment))
        {
            let parsed = parse_file(db, *file);
            if let Some((path, _)) = parsed
                .root
                .as_ref()
                .and_then(|root| node_at(root, reference.span.start + 1))
            {
                return path;
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(text: &str) -> TextContext {
        let offset = text.find('|').unwrap();
        let text = text.replace('|', "");
        text_context(&text, offset)
    }

    fn keys(path: &[Segment]) -> Vec<String> {
        path.iter()
            .map(|s| match s {
                Segment::Key(k) => k.clone(),
                Segment::Item => "[]".into(),
            })
            .collect()
    }

    #[test]
    fn keys_from_indentation() {
        let c = context("training:\n  schema: x\n  model_training:\n    fram|\n");
        assert_eq!(keys(&c.path), ["training", "model_training"]);
        assert_eq!(c.kind, CursorKind::Key);
        assert_eq!(c.prefix, "fram");
        let c = context("training:\n  model_training:\n    framework: g|");
        assert_eq!(keys(&c.path), ["training", "model_training"]);
        assert_eq!(
            c.kind,
            CursorKind::Value {
                key: "framework".into()
            }
        );
        assert_eq!(c.prefix, "g");
        let c = context("a: 1\n|");
        assert_eq!(keys(&c.path), Vec::<String>::new());
        assert_eq!(c.siblings, [("a".to_string(), "1".to_string())]);
    }

    #[test]
    fn lists() {
        let c =
            context("training:\n  validation:\n    checks:\n      - type: custom\n        fun|");
        assert_eq!(keys(&c.path), ["training", "validation", "checks", "[]"]);
        assert!(c
            .siblings
            .contains(&("type".to_string(), "custom".to_string())));
        let c = context("evaluation:\n  additional_metrics: [accuracy, f|");
        assert_eq!(keys(&c.path), ["evaluation", "additional_metrics"]);
        assert_eq!(c.kind, CursorKind::Item);
        assert_eq!(c.prefix, "f");
        let c = context("evaluation:\n  additional_metrics:\n    - acc|");
        assert_eq!(keys(&c.path), ["evaluation", "additional_metrics", "[]"]);
        let c = context("assertions:\n  - type: step_exists\n    step: tr|");
        assert_eq!(keys(&c.path), ["assertions", "[]"]);
        assert_eq!(c.kind, CursorKind::Value { key: "step".into() });
    }
}
