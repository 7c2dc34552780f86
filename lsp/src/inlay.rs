//! Inlay hints: in a derived pipeline, what each section inherits (key, effective value and
//! the file it comes from), shown at the end of the section's line.

use lsp_types::{InlayHint, InlayHintLabel, InlayHintParams, InlayHintTooltip};
use mbt_compiler::queries::compose::resolved;
use mbt_compiler::queries::parse::{parse_file, pipeline_name};
use mbt_compiler::yaml::{Mapping, Node};
use mbt_compiler::Database;

use crate::hover::{origin, summary};
use crate::position::LineMap;
use crate::server::Snapshot;

pub fn inlay_hints(snapshot: &Snapshot, params: InlayHintParams) -> Option<Vec<InlayHint>> {
    pipeline_name(&snapshot.path)?;
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let resolved = resolved(db, file);
    if resolved.bases.is_empty() {
        return Some(Vec::new());
    }
    let parsed = parse_file(db, file);
    let own = parsed.root.as_ref()?;
    let merged = resolved.root.as_ref()?;
    let text = file.text(db).clone();
    let map = LineMap::new(&text);
    let mut hints = Vec::new();
    // The root's inherited sections go after the `base_pipeline` line.
    let root_anchor = own
        .as_mapping()
        .and_then(|m| m.entry("base_pipeline"))
        .map(|entry| entry.value.span.end as usize)
        .unwrap_or(0);
    collect(db, &map, own, merged, root_anchor, &mut hints);
    let range = params.range;
    hints.retain(|hint| {
        hint.position.line >= range.start.line && hint.position.line <= range.end.line
    });
    Some(hints)
}

fn collect(
    db: &Database,
    map: &LineMap<'_>,
    own: &Node,
    merged: &Node,
    anchor: usize,
    hints: &mut Vec<InlayHint>,
) {
    let (Some(own_mapping), Some(merged_mapping)) = (own.as_mapping(), merged.as_mapping()) else {
        return;
    };
    let inherited: Vec<_> = merged_mapping
        .entries
        .iter()
        .filter(|entry| own_mapping.entry(&entry.key).is_none())
        .collect();
    if !inherited.is_empty() {
        let line = map.line_of(anchor);
        let (_, line_end) = map.line_bounds(line);
        let label = inherited
            .iter()
            .map(|entry| format!("{}: {}", entry.key, summary(&entry.value, 40)))
            .collect::<Vec<_>>()
            .join(", ");
        let tooltip = inherited
            .iter()
            .map(|entry| format!("{} from {}", entry.key, origin(db, entry.value.span)))
            .collect::<Vec<_>>()
            .join("\n");
        hints.push(InlayHint {
            position: map.position(line_end),
            label: InlayHintLabel::String(format!("⇐ {label}")),
            kind: None,
            text_edits: None,
            tooltip: Some(InlayHintTooltip::String(tooltip)),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    for entry in &own_mapping.entries {
        if let Some(merged_value) = merged_mapping.get(&entry.key) {
            if is_mapping(&entry.value) {
                collect(
                    db,
                    map,
                    &entry.value,
                    merged_value,
                    entry.key_span.end as usize,
                    hints,
                );
            }
        }
    }
}

fn is_mapping(node: &Node) -> bool {
    node.as_mapping()
        .is_some_and(|m: &Mapping| !m.entries.is_empty())
}
