//! Hover: a key's documentation from the schema; in a pipeline, the effective merged value and
//! the file:line it comes from; on `{{ var('k') }}` / `{{ env_var('K') }}`, the current value.

use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};
use mbt_compiler::diagnostics::Sources;
use mbt_compiler::queries::compose::resolved;
use mbt_compiler::queries::parse::{parse_file, pipeline_name};
use mbt_compiler::queries::validate::validated;
use mbt_compiler::text::Span;
use mbt_compiler::yaml::{Node, NodeKind};
use mbt_compiler::{Database, Db, SourceFile};

use crate::locate::{get, include_prefix, node_at, Hit, Segment};
use crate::position::LineMap;
use crate::schema_nav::{self, file_kind, root_schema, FileKind};
use crate::server::Snapshot;

pub fn hover(snapshot: &Snapshot, params: HoverParams) -> Option<Hover> {
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let text = file.text(db).clone();
    let map = LineMap::new(&text);
    let offset = map.offset(params.text_document_position_params.position);
    if let Some(markdown) = template_hover(db, &text, offset) {
        return Some(markdown_hover(markdown));
    }
    let parsed = parse_file(db, file);
    let root = parsed.root.as_ref()?;
    let (local_path, hit) = node_at(root, offset as u32)?;
    let kind = file_kind(&snapshot.path);
    let mut path = local_path.clone();
    if kind == FileKind::Fragment {
        let mut prefix = include_prefix(db, file);
        prefix.append(&mut path);
        path = prefix;
    }
    let mut sections = Vec::new();
    let title = match &hit {
        Hit::Key(entry) => format!("**{}**", entry.key),
        Hit::Value(_) => match path.last() {
            Some(Segment::Key(key)) => format!("**{key}**"),
            _ => String::new(),
        },
    };
    if !title.is_empty() {
        sections.push(format!("{title} `{}`", dotted(&path)));
    }
    if let Some(docs) = docs_at(db, file, kind, &path) {
        sections.push(docs);
    }
    if kind == FileKind::Pipeline {
        if let Some(effective) = effective_value(db, file, &local_path) {
            sections.push(effective);
        }
        if let Some(column) = column_hover(db, file, offset as u32) {
            sections.push(column);
        }
    }
    (!sections.is_empty()).then(|| markdown_hover(sections.join("\n\n")))
}

fn markdown_hover(value: String) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    }
}

pub fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Item => out.push_str("[]"),
        }
    }
    out
}

/// The schema's description of the value at `path` (framework configs included).
fn docs_at(db: &Database, file: SourceFile, kind: FileKind, path: &[Segment]) -> Option<String> {
    let config = [
        Segment::Key("model_training".into()),
        Segment::Key("config".into()),
    ];
    if let Some(position) = path.windows(2).position(|w| w == config) {
        let framework = resolved(db, file)
            .root
            .as_ref()
            .and_then(|root| root.get_path(&["training", "model_training", "framework"]))
            .and_then(Node::as_str)
            .and_then(|name| {
                mbt_compiler::contract::adapters::adapter(
                    mbt_compiler::contract::adapters::AdapterKind::Framework,
                    name,
                )
            })?;
        let rest = &path[position + 2..];
        if rest.is_empty() {
            return Some(format!(
                "Options of framework `{}`: {}",
                framework.name, framework.description
            ));
        }
        return schema_nav::description(&schema_nav::at_path(framework.config_schema(), rest));
    }
    let root = root_schema(kind)?;
    schema_nav::description(&schema_nav::at_path(root, path))
}

/// The merged value at `path` of a pipeline and where it was written.
fn effective_value(db: &Database, file: SourceFile, path: &[Segment]) -> Option<String> {
    let validated = validated(db, file);
    let resolved = resolved(db, file);
    let root = validated.root.as_ref().or(resolved.root.as_ref())?;
    let node = get(root, path)?;
    let defined_at = origin(db, node.span);
    let inherited = node.span.file != file.id(db);
    let value = summary(node, 200);
    let mut text = format!(
        "Effective value: `{value}`\n\nDefined at `{defined_at}`{}",
        if inherited { " (inherited)" } else { "" }
    );
    if let NodeKind::Mapping(mapping) = &node.kind {
        let lines: Vec<String> = mapping
            .entries
            .iter()
            .map(|entry| {
                format!(
                    "- `{}: {}` ({})",
                    entry.key,
                    summary(&entry.value, 60),
                    origin(db, entry.value.span)
                )
            })
            .collect();
        text = format!(
            "Effective value ({} keys, {})\n\n{}",
            mapping.entries.len(),
            if inherited { "inherited" } else { "merged" },
            lines.join("\n")
        );
    }
    Some(text)
}

/// `path:line` of a span.
pub fn origin(db: &Database, span: Span) -> String {
    let line = db.line_column(span.file, span.start).line;
    format!("{}:{line}", db.path(span.file))
}

/// A one-line rendering of a value, cut at `limit` characters.
pub fn summary(node: &Node, limit: usize) -> String {
    let text = match &node.kind {
        NodeKind::String(text) => text.clone(),
        NodeKind::Include(path) => format!("!include {path}"),
        _ => node.to_json().to_string(),
    };
    if text.chars().count() > limit {
        let cut: String = text.chars().take(limit).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// On a `var('k')` or `env_var('K')` call under the cursor: its current value.
fn template_hover(db: &Database, text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(text.len());
    let line = &text[line_start..line_end];
    let column = offset - line_start;
    let settings = db.project().settings(db).clone();
    for function in ["env_var", "var"] {
        let needle = format!("{function}(");
        let mut search = 0;
        while let Some(found) = line[search..].find(&needle) {
            let start = search + found;
            search = start + needle.len();
            // `var(` inside `env_var(` is the other function.
            if function == "var" && line[..start].ends_with("env_") {
                continue;
            }
            let Some(close) = line[start..].find(')') else {
                break;
            };
            let end = start + close + 1;
            if column < start || column > end {
                continue;
            }
            let arguments = &line[start + needle.len()..end - 1];
            let name = arguments
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['\'', '"']);
            let value = if function == "var" {
                settings.vars.get(name)
            } else {
                settings.env.get(name)
            };
            let shown = match value {
                Some(value) => format!("`{function}('{name}')` = `{value}`"),
                None if function == "var" => format!(
                    "`var('{name}')` is unset: pass `--vars {name}=VALUE` (it stays a reference for run time)"
                ),
                None => format!("`env_var('{name}')` is unset in the environment of the language server"),
            };
            return Some(shown);
        }
    }
    None
}

/// Whether the file is a pipeline the server can show merged values for.
pub fn is_pipeline(db: &Database, file: SourceFile) -> bool {
    pipeline_name(file.path(db)).is_some()
}

/// The column under the cursor: its type, missing share and table, or why it is not checked.
fn column_hover(
    db: &mbt_compiler::Database,
    file: mbt_compiler::SourceFile,
    offset: u32,
) -> Option<String> {
    let check = mbt_compiler::queries::columns::column_check(db, file);
    let reference = check.reference_at(file.id(db), offset)?;
    Some(match &reference.resolved {
        Ok(column) => format!("column `{}`: {}", column.name, column.describe()),
        Err(reason) => format!("column `{}`: {reason}", reference.column),
    })
}
