//! Completion: keys valid at the cursor (documented from the schema), enum values, framework
//! names and config keys, metrics for the problem type, base pipelines, `!include` paths,
//! tables and columns from the project's data, custom functions, and step names in tests.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    Documentation, MarkupContent, MarkupKind, Range, TextEdit,
};
use mbt_compiler::contract::adapters::{self, AdapterKind};
use mbt_compiler::dag::ALL_STEPS;
use mbt_compiler::queries::columns::frame::FrameColumn;
use mbt_compiler::queries::columns::{column_check, Stage};
use mbt_compiler::queries::compose::{relative_from, resolved};
use mbt_compiler::queries::parse::{is_base_name, pipeline_index, pipeline_name};
use mbt_compiler::queries::python::python_functions;
use mbt_compiler::schema::pipeline::{Metric, ProblemType};
use mbt_compiler::{Db, SourceFile};

use crate::locate::{include_prefix, text_context, CursorKind, Segment, TextContext};
use crate::position::LineMap;
use crate::schema_nav::{self, file_kind, root_schema, At, FileKind, ValueShape};
use crate::server::Snapshot;

/// Keys whose values are table names, and keys whose values are column names.
const TABLE_KEYS: &[&str] = &["label_table", "table", "scoring_table"];
const COLUMN_KEYS: &[&str] = &[
    "label_column",
    "primary_key",
    "partition_key",
    "column",
    "columns",
    "join_key",
    "ignored_columns",
    "prediction",
    "label",
];

pub fn complete(snapshot: &Snapshot, params: CompletionParams) -> Option<CompletionResponse> {
    let file = snapshot.file()?;
    let db = &snapshot.db;
    let text = file.text(db).clone();
    let map = LineMap::new(&text);
    let offset = map.offset(params.text_document_position.position);
    let context = text_context(&text, offset);
    let kind = file_kind(&snapshot.path);
    let mut path = context.path.clone();
    if kind == FileKind::Fragment {
        let mut prefix = include_prefix(db, file);
        prefix.append(&mut path);
        path = prefix;
    }
    let range = map.range(context.prefix_start, offset);
    let completer = Completer {
        snapshot,
        file,
        text: &text,
        kind,
        range,
        context: &context,
    };
    let items = match &context.kind {
        CursorKind::Key => {
            let keys = completer.keys(&path);
            if keys.is_empty() {
                match path.split_last() {
                    Some((Segment::Item, parent)) => completer.list_items(parent),
                    _ => keys,
                }
            } else {
                keys
            }
        }
        CursorKind::Value { key } => {
            let mut full = path.clone();
            full.push(Segment::Key(key.clone()));
            completer.values(&full)
        }
        CursorKind::Item => completer.list_items(&path),
    };
    Some(CompletionResponse::Array(items))
}

struct Completer<'a> {
    snapshot: &'a Snapshot,
    file: SourceFile,
    text: &'a str,
    kind: FileKind,
    range: Range,
    context: &'a TextContext,
}

impl Completer<'_> {
    fn item(
        &self,
        label: &str,
        kind: CompletionItemKind,
        detail: Option<String>,
        docs: Option<String>,
        insert: String,
    ) -> CompletionItem {
        CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail,
            documentation: docs.map(|value| {
                Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value,
                })
            }),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                range: self.range,
                new_text: insert,
            })),
            filter_text: Some(label.to_string()),
            ..CompletionItem::default()
        }
    }

    fn schemas(&self, path: &[Segment]) -> Vec<At<'static>> {
        // `model_training.config` follows the chosen framework's schema.
        if let Some(position) = path.windows(2).position(|w| {
            w == [
                Segment::Key("model_training".into()),
                Segment::Key("config".into()),
            ]
        }) {
            let Some(framework) = self
                .effective(&["training", "model_training", "framework"], "framework")
                .and_then(|name| adapters::adapter(AdapterKind::Framework, &name))
            else {
                return Vec::new();
            };
            let root = framework.config_schema();
            return schema_nav::at_path(root, &path[position + 2..]);
        }
        match root_schema(self.kind) {
            Some(root) => schema_nav::at_path(root, path),
            None => Vec::new(),
        }
    }

    fn keys(&self, path: &[Segment]) -> Vec<CompletionItem> {
        let schemas = self.schemas(path);
        let tag = self
            .context
            .siblings
            .iter()
            .find(|(key, _)| key == "type")
            .map(|(key, value)| (key.as_str(), value.as_str()));
        let column = self.range.start.character as usize;
        schema_nav::keys(&schemas, tag)
            .into_iter()
            .filter(|key| !self.context.siblings.iter().any(|(k, _)| *k == key.name))
            .map(|key| {
                let indent = " ".repeat(column + 2);
                let insert = match key.kind {
                    ValueShape::Scalar => format!("{}: ", key.name),
                    ValueShape::Mapping => format!("{}:\n{indent}", key.name),
                    ValueShape::List => format!("{}:\n{indent}- ", key.name),
                };
                let detail = key.required.then(|| "required".to_string());
                let mut item = self.item(
                    &key.name,
                    CompletionItemKind::PROPERTY,
                    detail,
                    key.description,
                    insert,
                );
                item.sort_text = Some(format!("{}{}", if key.required { 0 } else { 1 }, key.name));
                item
            })
            .collect()
    }

    /// Items of the list at `path` (inline `[a, b]` or `- a` lines).
    fn list_items(&self, path: &[Segment]) -> Vec<CompletionItem> {
        let mut item_path = path.to_vec();
        let key = match path.last() {
            Some(Segment::Key(key)) => key.clone(),
            _ => return Vec::new(),
        };
        item_path.push(Segment::Item);
        self.values_for(&key, &item_path)
    }

    fn values(&self, path: &[Segment]) -> Vec<CompletionItem> {
        let key = match path.last() {
            Some(Segment::Key(key)) => key.clone(),
            _ => return Vec::new(),
        };
        let mut items = self.values_for(&key, path);
        let shape_is_container = self.schemas(path).iter().any(|at| {
            matches!(
                at.schema.get("type").and_then(|t| t.as_str()),
                Some("object" | "array")
            )
        }) || !schema_nav::keys(&self.schemas(path), None).is_empty();
        if self.context.prefix.starts_with('!') || (shape_is_container && items.is_empty()) {
            items.extend(self.include_paths());
        }
        items
    }

    fn values_for(&self, key: &str, path: &[Segment]) -> Vec<CompletionItem> {
        let value = |label: &str, detail: Option<String>, docs: Option<String>| {
            self.item(
                label,
                CompletionItemKind::VALUE,
                detail,
                docs,
                label.to_string(),
            )
        };
        match (self.kind, key) {
            (FileKind::Tests, "step" | "before" | "after") => {
                return ALL_STEPS
                    .iter()
                    .map(|step| value(step, Some("step".into()), None))
                    .collect()
            }
            (FileKind::Tests, "pipeline") => {
                let index = pipeline_index(&self.snapshot.db, self.snapshot.db.project());
                return index
                    .runnable()
                    .map(|(name, _)| value(name, Some("pipeline".into()), None))
                    .collect();
            }
            (FileKind::Pipeline | FileKind::Fragment, "base_pipeline") if path.len() == 1 => {
                let index = pipeline_index(&self.snapshot.db, self.snapshot.db.project());
                let own = pipeline_name(&self.snapshot.path).unwrap_or_default();
                let mut items: Vec<CompletionItem> = index
                    .names()
                    .into_iter()
                    .filter(|name| *name != own)
                    .map(|name| {
                        let mut item = value(name, Some("pipeline".into()), None);
                        item.sort_text =
                            Some(format!("{}{name}", if is_base_name(name) { 0 } else { 1 }));
                        item
                    })
                    .collect();
                items.sort_by(|a, b| a.sort_text.cmp(&b.sort_text));
                return items;
            }
            // Adapters: only what this build runs (the adapter table's available entries).
            (FileKind::Pipeline | FileKind::Fragment, "framework" | "registry" | "destination")
            | (FileKind::Profiles, "type" | "provider") => {
                let kind = match key {
                    "framework" => Some(AdapterKind::Framework),
                    "registry" => Some(AdapterKind::ModelRegistry),
                    "destination" => Some(AdapterKind::OutputWriter),
                    "provider" => Some(AdapterKind::Secrets),
                    _ => path.iter().rev().nth(1).and_then(|segment| match segment {
                        Segment::Key(parent) => AdapterKind::from_target_key(parent),
                        Segment::Item => None,
                    }),
                };
                if let Some(kind) = kind {
                    return adapters::of_kind(kind)
                        .filter(|spec| spec.available)
                        .map(|spec| {
                            value(
                                spec.name,
                                Some(kind.describe().into()),
                                Some(format!("{} Needs: {}.", spec.description, spec.needs)),
                            )
                        })
                        .collect();
                }
            }
            (FileKind::Pipeline | FileKind::Fragment, "primary_metric" | "additional_metrics") => {
                let problem_type = self
                    .effective(&["project", "problem_type"], "problem_type")
                    .and_then(|text| ProblemType::parse(&text));
                let metrics: Vec<String> = match problem_type {
                    Some(problem_type) => Metric::valid_for(problem_type)
                        .iter()
                        .map(|m| m.as_str().to_string())
                        .collect(),
                    None => schema_nav::values(&self.schemas(path))
                        .into_iter()
                        .map(|(v, _)| v)
                        .collect(),
                };
                let detail = problem_type.map(|p| format!("metric for {}", p.as_str()));
                return metrics
                    .iter()
                    .map(|m| value(m, detail.clone(), None))
                    .collect();
            }
            (FileKind::Pipeline | FileKind::Fragment, "function") => {
                return self
                    .custom_functions()
                    .into_iter()
                    .map(|f| value(&f, Some("function in lib/".into()), None))
                    .collect()
            }
            (FileKind::Pipeline | FileKind::Fragment, key)
                if TABLE_KEYS.contains(&key) && !self.tables().is_empty() =>
            {
                return self
                    .tables()
                    .iter()
                    .map(|(table, columns)| {
                        value(
                            table,
                            Some("table".into()),
                            Some(format!("columns: {}", columns.join(", "))),
                        )
                    })
                    .collect()
            }
            (FileKind::Pipeline | FileKind::Fragment, key) if COLUMN_KEYS.contains(&key) => {
                if let Some(columns) = self.columns_at(path) {
                    return columns
                        .iter()
                        .map(|column| value(&column.name, Some(column.describe()), None))
                        .collect();
                }
                let items = self
                    .columns()
                    .into_iter()
                    .map(|(column, tables)| {
                        value(&column, Some(format!("column of {tables}")), None)
                    })
                    .collect::<Vec<_>>();
                if !items.is_empty() {
                    return items;
                }
            }
            _ => {}
        }
        schema_nav::values(&self.schemas(path))
            .into_iter()
            .map(|(text, docs)| value(&text, None, docs))
            .collect()
    }

    /// The columns that exist at `path` of a pipeline, when the catalog and the steps before it
    /// determine them.
    fn columns_at(&self, path: &[Segment]) -> Option<Vec<FrameColumn>> {
        if file_kind(&self.snapshot.path) != FileKind::Pipeline {
            return None;
        }
        let keys: Vec<String> = path
            .iter()
            .map(|segment| match segment {
                Segment::Key(key) => key.clone(),
                Segment::Item => "0".to_string(),
            })
            .collect();
        let stage = Stage::of_path(&keys)?;
        let file = self.snapshot.file()?;
        let check = column_check(&self.snapshot.db, file);
        check.stage(stage)?.columns().map(<[FrameColumn]>::to_vec)
    }

    /// The data catalog's tables and their column names (the database's inputs).
    fn tables(&self) -> Vec<(String, Vec<String>)> {
        let db = &self.snapshot.db;
        db.project()
            .tables(db)
            .iter()
            .map(|(name, table)| {
                let columns = match &**table.schema(db) {
                    Ok(schema) => schema
                        .columns
                        .iter()
                        .flatten()
                        .map(|c| c.name.clone())
                        .collect(),
                    Err(_) => Vec::new(),
                };
                (name.clone(), columns)
            })
            .collect()
    }

    /// Columns of the project's tables, each with the tables that have it.
    fn columns(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (table, columns) in &self.tables() {
            for column in columns {
                match out.iter_mut().find(|(c, _)| c == column) {
                    Some((_, tables)) => {
                        tables.push_str(", ");
                        tables.push_str(table);
                    }
                    None => out.push((column.clone(), table.clone())),
                }
            }
        }
        out
    }

    fn custom_functions(&self) -> Vec<String> {
        let db = &self.snapshot.db;
        let mut out = Vec::new();
        for (path, file) in db.project().files(db).iter() {
            let Some(module) = path.strip_suffix(".py") else {
                continue;
            };
            let module = module.trim_end_matches("/__init__").replace('/', ".");
            for function in python_functions(db, *file).iter() {
                out.push(format!("{module}.{function}"));
            }
        }
        out
    }

    fn include_paths(&self) -> Vec<CompletionItem> {
        let db = &self.snapshot.db;
        db.project()
            .files(db)
            .keys()
            .filter(|path| {
                **path != self.snapshot.path
                    && file_kind(path) == FileKind::Fragment
                    && !path.starts_with("tests/")
            })
            .map(|path| {
                let relative = relative_from(&self.snapshot.path, path);
                let insert = format!("!include {relative}");
                self.item(
                    &insert,
                    CompletionItemKind::FILE,
                    Some("fragment".into()),
                    None,
                    insert.clone(),
                )
            })
            .collect()
    }

    /// A scalar of the merged pipeline, else written in this file, else in its base.
    fn effective(&self, path: &[&str], key: &str) -> Option<String> {
        let db = &self.snapshot.db;
        if let Some(text) = resolved(db, self.file)
            .root
            .as_ref()
            .and_then(|root| root.get_path(path))
            .and_then(|node| node.as_str())
        {
            return Some(text.to_string());
        }
        if let Some(found) = scan_scalar(self.text, key) {
            return Some(found);
        }
        let base = scan_scalar(self.text, "base_pipeline")?;
        let index = pipeline_index(db, db.project());
        let base = index.by_name.get(&base)?;
        resolved(db, *base)
            .root
            .as_ref()
            .and_then(|root| root.get_path(path))
            .and_then(|node| node.as_str())
            .map(str::to_string)
    }
}

/// The value of the first `key: value` line (for half-typed files that do not parse).
fn scan_scalar(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(key)?.strip_prefix(':')?;
        let value = rest.split(" #").next()?.trim().trim_matches(['"', '\'']);
        (!value.is_empty()).then(|| value.to_string())
    })
}
