//! Go to definition (`base_pipeline` → its file, `!include` → the fragment, a key → where its
//! effective value is written, `lib.module.fn` → the `def` line) and references (who extends
//! a base or includes a fragment).

use lsp_types::{
    GotoDefinitionParams, GotoDefinitionResponse, Location, Position, Range, ReferenceParams,
};
use mbt_compiler::diagnostics::Sources;
use mbt_compiler::queries::compose::{references as file_references, resolved, Reference};
use mbt_compiler::queries::parse::{parse_file, pipeline_name};
use mbt_compiler::text::Span;
use mbt_compiler::yaml::Node;
use mbt_compiler::{Database, Db, SourceFile};

use crate::locate::{entry, node_at, Hit};
use crate::position::LineMap;
use crate::server::Snapshot;

pub fn definition(
    snapshot: &Snapshot,
    params: GotoDefinitionParams,
) -> Option<GotoDefinitionResponse> {
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let text = file.text(db).clone();
    let offset = LineMap::new(&text).offset(params.text_document_position_params.position) as u32;
    if let Some(reference) = reference_at(db, file, offset) {
        let target = reference.target?;
        return Some(GotoDefinitionResponse::Scalar(file_start(snapshot, target)));
    }
    let parsed = parse_file(db, file);
    let root = parsed.root.as_ref()?;
    let (path, hit) = node_at(root, offset)?;
    if let Hit::Value(node) = &hit {
        if let Some(location) = python_definition(snapshot, node) {
            return Some(GotoDefinitionResponse::Scalar(location));
        }
    }
    // A key (or value): where the effective value of the merged pipeline is written.
    pipeline_name(&snapshot.path)?;
    let resolved = resolved(db, file);
    let merged = resolved.root.as_ref()?;
    let found = entry(merged, &path)?;
    Some(GotoDefinitionResponse::Scalar(location(
        snapshot,
        found.value.span,
    )))
}

pub fn references(snapshot: &Snapshot, params: ReferenceParams) -> Option<Vec<Location>> {
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let text = file.text(db).clone();
    let offset = LineMap::new(&text).offset(params.text_document_position.position) as u32;
    // On a reference: who else refers to its target; elsewhere: who refers to this file.
    let target = match reference_at(db, file, offset) {
        Some(reference) => reference.target?,
        None => file,
    };
    let mut out = Vec::new();
    if params.context.include_declaration {
        out.push(file_start(snapshot, target));
    }
    for (_, candidate) in db.project().files(db).iter() {
        for reference in file_references(db, *candidate).references.iter() {
            if reference.target == Some(target) {
                out.push(location(snapshot, reference.span));
            }
        }
    }
    Some(out)
}

/// The `base_pipeline` value or `!include` of `file` under `offset`.
fn reference_at(db: &Database, file: SourceFile, offset: u32) -> Option<Reference> {
    file_references(db, file)
        .references
        .iter()
        .find(|r| r.span.start <= offset && offset <= r.span.end)
        .cloned()
}

fn file_start(snapshot: &Snapshot, file: SourceFile) -> Location {
    Location::new(
        snapshot.uri(file.path(&snapshot.db)),
        Range::new(Position::new(0, 0), Position::new(0, 0)),
    )
}

pub fn location(snapshot: &Snapshot, span: Span) -> Location {
    let db = &snapshot.db;
    let text = db.text(span.file);
    Location::new(
        snapshot.uri(db.path(span.file)),
        LineMap::new(text).span_range(span),
    )
}

/// `lib.module.function` → the `def` line of `lib/module.py`.
fn python_definition(snapshot: &Snapshot, node: &Node) -> Option<Location> {
    let db = &snapshot.db;
    let dotted = node.as_str()?;
    let (module, function) = dotted.rsplit_once('.')?;
    let module_path = module.replace('.', "/");
    let files = db.project().files(db);
    let file = files
        .get(&format!("{module_path}.py"))
        .or_else(|| files.get(&format!("{module_path}/__init__.py")))?;
    let text = file.text(db);
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let code = line.strip_prefix("async ").unwrap_or(line);
        if let Some(rest) = code.strip_prefix("def ") {
            let name_end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if &rest[..name_end] == function {
                let start = offset + (line.len() - code.len()) + 4;
                let span = Span::new(file.id(db), start as u32, (start + name_end) as u32);
                return Some(location(snapshot, span));
            }
        }
        offset += line.len();
    }
    Some(Location::new(
        snapshot.uri(file.path(db)),
        Range::new(Position::new(0, 0), Position::new(0, 0)),
    ))
}
