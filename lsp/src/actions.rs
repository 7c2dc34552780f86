//! Code actions: the quick fix of every "did you mean" diagnostic (carried in the diagnostic's
//! `data` from the compiler's `Suggestion`), and adding a missing required key (MBT2004).

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse,
    NumberOrString, Range, TextEdit, WorkspaceEdit,
};
use mbt_compiler::queries::parse::parse_file;
use mbt_compiler::yaml::Node;
use mbt_compiler::Code;

use crate::diagnostics::FixData;
use crate::position::LineMap;
use crate::server::Snapshot;

pub fn code_actions(snapshot: &Snapshot, params: CodeActionParams) -> Option<CodeActionResponse> {
    let uri = params.text_document.uri.clone();
    let mut actions = Vec::new();
    for diagnostic in &params.context.diagnostics {
        let edit = if let Some(fix) = diagnostic
            .data
            .clone()
            .and_then(|data| serde_json::from_value::<FixData>(data).ok())
        {
            Some((fix.title, TextEdit::new(fix.range, fix.new_text)))
        } else if diagnostic.code == Some(NumberOrString::String(Code::MissingKey.as_str().into()))
        {
            add_missing_key(snapshot, &diagnostic.message)
        } else {
            None
        };
        let Some((title, edit)) = edit else { continue };
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic.clone()]),
            edit: Some(WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                document_changes: None,
                change_annotations: None,
            }),
            command: None,
            is_preferred: Some(true),
            disabled: None,
            data: None,
        }));
    }
    Some(actions)
}

/// `missing key `K` in `a.b`` → insert `K: ` into mapping `a.b` of this file (or append the
/// path when this file does not write it).
fn add_missing_key(snapshot: &Snapshot, message: &str) -> Option<(String, TextEdit)> {
    let rest = message.strip_prefix("missing key `")?;
    let (key, rest) = rest.split_once('`')?;
    let place = rest
        .trim_start()
        .strip_prefix("in ")?
        .lines()
        .next()?
        .trim();
    let path: Vec<&str> = match place.strip_prefix('`').and_then(|p| p.strip_suffix('`')) {
        Some(dotted) => dotted.split('.').collect(),
        None => Vec::new(),
    };
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let text = file.text(db).clone();
    let map = LineMap::new(&text);
    let title = format!("Add `{key}`");
    let parsed = parse_file(db, file);
    let root = parsed.root.as_ref()?;
    // The deepest existing mapping along the path, and the keys still to write.
    let mut node = root;
    let mut depth = 0;
    for part in &path {
        match lookup(node, part) {
            Some(child) if child.as_mapping().is_some() => {
                node = child;
                depth += 1;
            }
            _ => break,
        }
    }
    let mapping = node.as_mapping()?;
    let missing: Vec<&str> = path[depth..].iter().copied().chain([key]).collect();
    let (insert_at, indent) = match mapping.entries.first() {
        Some(first) => {
            let start = first.key_span.start as usize;
            let line_start = map.line_bounds(map.line_of(start)).0;
            (line_start, start - line_start)
        }
        None => (text.len(), 0),
    };
    let mut insert = String::new();
    if insert_at == text.len() && !text.ends_with('\n') && !text.is_empty() {
        insert.push('\n');
    }
    for (level, name) in missing.iter().enumerate() {
        let spaces = " ".repeat(indent + level * 2);
        if level + 1 == missing.len() {
            insert.push_str(&format!("{spaces}{name}: \n"));
        } else {
            insert.push_str(&format!("{spaces}{name}:\n"));
        }
    }
    let position = map.position(insert_at);
    Some((title, TextEdit::new(Range::new(position, position), insert)))
}

/// A mapping key, or `name[index]` for a list item.
fn lookup<'a>(node: &'a Node, part: &str) -> Option<&'a Node> {
    match part.split_once('[') {
        Some((name, index)) => {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            node.as_mapping()?.get(name)?.as_sequence()?.get(index)
        }
        None => node.as_mapping()?.get(part),
    }
}
