//! Document symbols (the key outline) and folding ranges (every multi-line mapping or list).

use lsp_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, FoldingRange, FoldingRangeKind,
    FoldingRangeParams, SymbolKind,
};
use mbt_compiler::queries::parse::parse_file;
use mbt_compiler::yaml::{Node, NodeKind};

use crate::position::LineMap;
use crate::server::Snapshot;

pub fn document_symbols(
    snapshot: &Snapshot,
    _params: DocumentSymbolParams,
) -> Option<DocumentSymbolResponse> {
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let parsed = parse_file(db, file);
    let root = parsed.root.as_ref()?;
    let text = file.text(db).clone();
    let map = LineMap::new(&text);
    Some(DocumentSymbolResponse::Nested(children(&map, root)))
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be written.
fn children(map: &LineMap<'_>, node: &Node) -> Vec<DocumentSymbol> {
    match &node.kind {
        NodeKind::Mapping(mapping) => mapping
            .entries
            .iter()
            .map(|entry| {
                let end = entry.value.span.end.max(entry.key_span.end) as usize;
                DocumentSymbol {
                    name: entry.key.clone(),
                    detail: scalar_detail(&entry.value),
                    kind: kind(&entry.value),
                    tags: None,
                    deprecated: None,
                    range: map.range(entry.key_span.start as usize, end),
                    selection_range: map.span_range(entry.key_span),
                    children: Some(children(map, &entry.value)).filter(|c| !c.is_empty()),
                }
            })
            .collect(),
        NodeKind::Sequence(items) => items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.as_mapping().is_some())
            .map(|(index, item)| {
                let name = ["name", "table", "type", "step"]
                    .iter()
                    .find_map(|key| item.get_path(&[key]).and_then(Node::as_str))
                    .map(|label| format!("[{index}] {label}"))
                    .unwrap_or_else(|| format!("[{index}]"));
                DocumentSymbol {
                    name,
                    detail: None,
                    kind: SymbolKind::OBJECT,
                    tags: None,
                    deprecated: None,
                    range: map.span_range(item.span),
                    selection_range: map.span_range(item.span),
                    children: Some(children(map, item)).filter(|c| !c.is_empty()),
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn kind(node: &Node) -> SymbolKind {
    match &node.kind {
        NodeKind::Mapping(_) => SymbolKind::OBJECT,
        NodeKind::Sequence(_) => SymbolKind::ARRAY,
        NodeKind::Include(_) => SymbolKind::FILE,
        NodeKind::Bool(_) => SymbolKind::BOOLEAN,
        NodeKind::Int(_) | NodeKind::Float(_) => SymbolKind::NUMBER,
        _ => SymbolKind::STRING,
    }
}

fn scalar_detail(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Mapping(_) | NodeKind::Sequence(_) => None,
        _ => Some(crate::hover::summary(node, 60)),
    }
}

pub fn folding_ranges(
    snapshot: &Snapshot,
    _params: FoldingRangeParams,
) -> Option<Vec<FoldingRange>> {
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let parsed = parse_file(db, file);
    let root = parsed.root.as_ref()?;
    let text = file.text(db).clone();
    let map = LineMap::new(&text);
    let mut ranges = Vec::new();
    fold(&map, root, &mut ranges);
    Some(ranges)
}

fn fold(map: &LineMap<'_>, node: &Node, out: &mut Vec<FoldingRange>) {
    let push = |out: &mut Vec<FoldingRange>, start: usize, end: usize| {
        let start_line = map.line_of(start);
        // A block ends at the start of the next line: fold up to the line before.
        let mut end_line = map.line_of(end);
        if end_line > start_line && map.line_bounds(end_line).0 == end {
            end_line -= 1;
        }
        if end_line > start_line {
            out.push(FoldingRange {
                start_line: start_line as u32,
                start_character: None,
                end_line: end_line as u32,
                end_character: None,
                kind: Some(FoldingRangeKind::Region),
                collapsed_text: None,
            });
        }
    };
    match &node.kind {
        NodeKind::Mapping(mapping) => {
            for entry in &mapping.entries {
                if matches!(
                    entry.value.kind,
                    NodeKind::Mapping(_) | NodeKind::Sequence(_)
                ) {
                    push(
                        out,
                        entry.key_span.start as usize,
                        entry.value.span.end as usize,
                    );
                }
                fold(map, &entry.value, out);
            }
        }
        NodeKind::Sequence(items) => {
            for item in items {
                if item.as_mapping().is_some() {
                    push(out, item.span.start as usize, item.span.end as usize);
                }
                fold(map, item, out);
            }
        }
        _ => {}
    }
}
