//! Column-aware checking: every column reference of a pipeline resolved against the columns
//! available at that point, from the data catalog (the host's salsa inputs) through joins and
//! transforms. Where the columns cannot be known (a table the catalog cannot read, an
//! undeclared Python transform, SQL whose output is not plain), later references are not
//! checked: no false errors.

pub mod frame;
pub mod sql;

use std::sync::Arc;

use mbt_contract::catalog::{same_value, DataType};

use self::frame::{Frame, FrameColumn};
use self::sql::{sql_columns, Missing, SqlColumns};
use super::python::python_column_effects;
use super::validate::validated;
use crate::db::{Db, SourceFile};
use crate::diagnostics::{Code, Diagnostic};
use crate::text::Span;
use crate::yaml::{Node, NodeKind};

/// Where in a pipeline a column reference is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The label table as read: a partition key under time windows.
    Loaded,
    /// Training data after the joins: validation checks, join keys.
    Joined,
    /// After the custom transforms: the schema's roles, normalization and encoding columns.
    Transformed,
    /// Serving's scoring table.
    Scoring,
}

impl Stage {
    /// The stage a YAML path (keys and indexes) of a pipeline reads columns at, if it is a
    /// column reference.
    pub fn of_path(path: &[String]) -> Option<Stage> {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        match path.as_slice() {
            ["training", "schema", ..] => Some(Stage::Transformed),
            ["training", "validation", ..] => Some(Stage::Joined),
            ["training", "data_source", "feature_tables", _, "join_key", ..] => Some(Stage::Joined),
            ["training", "transformations", _, "columns", ..] => Some(Stage::Transformed),
            ["serving", ..] => Some(Stage::Scoring),
            _ => None,
        }
    }
}

/// One column reference and what it resolved to.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnRef {
    pub span: Span,
    pub column: String,
    /// The column, or why it could not be checked.
    pub resolved: Result<FrameColumn, String>,
}

/// The column check of one pipeline.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ColumnCheck {
    pub diagnostics: Vec<Diagnostic>,
    pub references: Vec<ColumnRef>,
    /// The frame at each stage (for completion).
    pub stages: Vec<(Stage, Frame)>,
}

impl ColumnCheck {
    pub fn stage(&self, stage: Stage) -> Option<&Frame> {
        self.stages
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, f)| f)
    }

    /// The reference under a byte offset of a file.
    pub fn reference_at(&self, file: crate::text::FileId, offset: u32) -> Option<&ColumnRef> {
        self.references
            .iter()
            .find(|r| r.span.file == file && r.span.start <= offset && offset <= r.span.end)
    }
}

/// Column references of a pipeline against the catalog. Reads only the tables the pipeline
/// names, so a changed table re-checks only the pipelines that read it.
#[salsa::tracked]
pub fn column_check(db: &dyn Db, file: SourceFile) -> Arc<ColumnCheck> {
    let catalog = db.project().catalog(db);
    if !catalog.checks_columns() {
        return Arc::default();
    }
    let validated = validated(db, file);
    let Some(root) = validated.root.as_ref() else {
        return Arc::default();
    };
    let mut cx = Checker {
        db,
        out: ColumnCheck::default(),
        origins: Vec::new(),
        dropped: Vec::new(),
    };
    if let Some(training) = root.get_path(&["training"]) {
        cx.training(training);
    }
    if let Some(serving) = root.get_path(&["serving"]) {
        cx.serving(serving);
    }
    Arc::new(cx.out)
}

/// A table's columns as a frame, built once per table for every pipeline that reads it.
#[salsa::tracked]
fn table_frame(db: &dyn Db, table: crate::db::DataTable) -> Arc<Frame> {
    Arc::new(match &**table.schema(db) {
        Ok(schema) => Frame::of_table(table.name(db), schema),
        Err(reason) => Frame::Unknown(reason.clone()),
    })
}

/// The longest `sql:` transform analyzed (bytes).
const MAX_SQL_LEN: usize = 16 * 1024;

struct Checker<'a> {
    db: &'a dyn Db,
    out: ColumnCheck,
    /// Where each column origin (a table, a transform) is written, for secondary labels.
    origins: Vec<(String, Span)>,
    /// Columns a transform dropped, and where: a later reference is told so.
    dropped: Vec<(String, Span)>,
}

/// A value written in the pipeline that names something: skipped when left for run time.
fn name_of(node: &Node) -> Option<&str> {
    node.as_str().filter(|text| !text.contains("{{"))
}

fn items(node: Option<&Node>) -> &[Node] {
    node.and_then(Node::as_sequence).unwrap_or(&[])
}

/// A `join_key`/`columns` value: one name or a list.
fn one_or_many(node: Option<&Node>) -> Vec<&Node> {
    match node {
        Some(node) if node.as_sequence().is_some() => items(Some(node)).iter().collect(),
        Some(node) if node.as_str().is_some() => vec![node],
        _ => Vec::new(),
    }
}

impl Checker<'_> {
    /// The columns of the table a node names; an unknown table is MBT2401.
    fn table(&mut self, node: &Node) -> Frame {
        let Some(name) = name_of(node) else {
            return Frame::Unknown("the table name is set at run time".into());
        };
        if name.contains(['/', '\\']) {
            // A file in a subfolder of the data path: the catalog lists the folder's own tables.
            return Frame::Unknown(format!(
                "`{name}` is in a subfolder the catalog does not read"
            ));
        }
        let stem = name
            .strip_suffix(".csv")
            .or_else(|| name.strip_suffix(".parquet"))
            .unwrap_or(name);
        let tables = self.db.project().tables(self.db);
        let Some(table) = tables.get(stem).or_else(|| tables.get(name)).copied() else {
            let names: Vec<&str> = tables.keys().map(String::as_str).collect();
            let location = match &**self.db.project().catalog(self.db) {
                crate::db::CatalogState::Fresh { location }
                | crate::db::CatalogState::Cached { location, .. } => location.clone(),
                _ => String::new(),
            };
            self.out.diagnostics.push(
                Diagnostic::at(
                    Code::UnknownTable,
                    node.span,
                    format!("table `{name}` is not in the data catalog ({location})"),
                )
                .with_label("no such table")
                .with_did_you_mean(name, &names, node.span),
            );
            return Frame::Unknown(format!("table `{name}` does not exist"));
        };
        self.origins.push((format!("table `{stem}`"), node.span));
        match &**table.schema(self.db) {
            // `x.csv` names the CSV even when `x.parquet` (which the catalog lists) exists.
            Ok(schema) if name.ends_with(".csv") && !schema.source.ends_with(".csv") => {
                Frame::Unknown(format!(
                    "the catalog read `{}`, not `{name}`",
                    schema.source
                ))
            }
            Ok(_) => Frame::clone(table_frame(self.db, table)),
            Err(reason) => {
                self.out.diagnostics.push(
                    Diagnostic::at(
                        Code::TableUnreadable,
                        node.span,
                        format!("table `{name}` cannot be read: {reason}"),
                    )
                    .with_label("columns not checked")
                    .with_help("repair or re-export the file, then run `mbt catalog`"),
                );
                Frame::Unknown(format!("table `{name}` cannot be read"))
            }
        }
    }

    /// Resolves a column reference against `frame`; a missing column is MBT2402.
    fn reference(&mut self, frame: &Frame, node: &Node, what: &str) -> Option<FrameColumn> {
        let name = name_of(node)?;
        let resolved = match frame {
            Frame::Unknown(reason) => Err(format!("not checked: {reason}")),
            Frame::Known(_) => match frame.get(name) {
                Some(column) => Ok(column.clone()),
                None => {
                    self.missing(frame, node, name, what);
                    Err("not a column at this point".into())
                }
            },
        };
        let found = resolved.as_ref().ok().cloned();
        self.out.references.push(ColumnRef {
            span: node.span,
            column: name.to_string(),
            resolved,
        });
        found
    }

    fn missing(&mut self, frame: &Frame, node: &Node, name: &str, what: &str) {
        let diagnostic = Diagnostic::at(
            Code::UnknownColumn,
            node.span,
            format!("{what} `{name}` is not a column of the data at this point"),
        )
        .with_label("no such column");
        if let Some((_, span)) = self.dropped.iter().rev().find(|(c, _)| c == name) {
            self.out.diagnostics.push(
                diagnostic
                    .with_secondary(*span, format!("`{name}` is dropped here"))
                    .with_help(format!(
                        "`{name}` is gone after this transform: keep it there, or use it before"
                    )),
            );
            return;
        }
        let mut diagnostic = diagnostic;
        let mut shown: Vec<&str> = Vec::new();
        for column in frame.columns().unwrap_or(&[]) {
            if shown.contains(&&*column.origin) {
                continue;
            }
            shown.push(&column.origin);
            if let Some((_, span)) = self.origins.iter().find(|(o, _)| **o == *column.origin) {
                diagnostic =
                    diagnostic.with_secondary(*span, format!("columns from {}", column.origin));
            }
        }
        let names = frame.names();
        self.out
            .diagnostics
            .push(diagnostic.with_did_you_mean(name, &names, node.span));
    }

    fn type_error(&mut self, node: &Node, message: String, help: &str) {
        self.out.diagnostics.push(
            Diagnostic::at(Code::ColumnTypeMismatch, node.span, message)
                .with_label("wrong column type")
                .with_help(help.to_string()),
        );
    }

    fn training(&mut self, training: &Node) {
        let source = training.get_path(&["data_source"]);
        let Some(label_table) = source.and_then(|s| s.get_path(&["label_table"])) else {
            return;
        };
        let loaded = self.table(label_table);
        self.out.stages.push((Stage::Loaded, loaded.clone()));
        let mut frame = loaded;
        for entry in items(source.and_then(|s| s.get_path(&["feature_tables"]))) {
            let Some(table) = entry.get_path(&["table"]) else {
                continue;
            };
            if name_of(table).is_some() && name_of(table) == name_of(label_table) {
                continue; // the label table itself: not joined
            }
            let right = self.table(table);
            frame = self.join(frame, right, table, entry.get_path(&["join_key"]));
        }
        self.out.stages.push((Stage::Joined, frame.clone()));
        let schema = training.get_path(&["schema"]);
        let windows = source.and_then(|s| s.get_path(&["data_windows"])).is_some();
        let partition = schema.and_then(|s| s.get_path(&["identifiers", "partition_key"]));
        // A check the pipeline lets pass (`on_failure: warn` or `skip_row`) is a warning here too.
        let strict = training
            .get_path(&["validation", "on_failure"])
            .and_then(Node::as_str)
            .is_none_or(|mode| mode == "fail");
        for check in items(training.get_path(&["validation", "checks"])) {
            let before = self.out.diagnostics.len();
            self.validation_check(&frame, check);
            if !strict {
                for diagnostic in &mut self.out.diagnostics[before..] {
                    diagnostic.severity = crate::diagnostics::Severity::Warning;
                }
            }
        }
        let transforms = training.get_path(&["transformations"]);
        for transform in items(transforms.and_then(|t| t.get_path(&["custom_transforms"]))) {
            frame = self.transform(frame, transform);
        }
        self.out.stages.push((Stage::Transformed, frame.clone()));

        // The roles are read where the model is trained, after the transforms (a transform may
        // derive the label).
        let label = schema
            .and_then(|s| s.get_path(&["target", "label_column"]))
            .and_then(|node| self.reference(&frame, node, "label_column"));
        if let (Some(label), Some(classes)) = (
            label,
            schema.and_then(|s| s.get_path(&["target", "classes"])),
        ) {
            self.classes(&label, classes);
        }
        if let Some(node) = schema.and_then(|s| s.get_path(&["identifiers", "primary_key"])) {
            self.reference(&frame, node, "primary_key");
        }
        // Time windows split the data by the partition key after the transforms.
        if let Some(node) = partition {
            let column = self.reference(&frame, node, "partition_key");
            if let (Some(column), true) = (column, windows) {
                self.date_column(node, &column);
            }
        }
        for node in items(schema.and_then(|s| s.get_path(&["ignored_columns"]))) {
            self.reference(&frame, node, "ignored column");
        }
        for (section, numeric) in [("normalization", true), ("encoding", false)] {
            // A disabled step does not run, so its columns are not read.
            let disabled = transforms
                .and_then(|t| t.get_path(&[section, "enabled"]))
                .is_some_and(|enabled| matches!(enabled.kind, NodeKind::Bool(false)));
            if disabled {
                continue;
            }
            let columns = transforms.and_then(|t| t.get_path(&[section, "columns"]));
            for node in items(columns) {
                let column = self.reference(&frame, node, &format!("{section} column"));
                if let (Some(column), true) = (column, numeric) {
                    let dtype = column.dtype();
                    if !(dtype.is_numeric() || dtype == DataType::Unknown) {
                        self.type_error(
                            node,
                            format!("`{}` is a {} column; normalization scales numbers", column.name, dtype.as_str()),
                            "list numeric columns only, or encode this column instead (`encoding.columns`)",
                        );
                    }
                }
            }
        }
    }

    /// The frame after joining `right` on `keys`: keys checked on both sides, collisions warned.
    fn join(&mut self, left: Frame, right: Frame, table: &Node, keys: Option<&Node>) -> Frame {
        let keys: Vec<&Node> = one_or_many(keys);
        let table_name = name_of(table).unwrap_or_default();
        let mut key_names = Vec::new();
        for key in &keys {
            let Some(name) = name_of(key) else { continue };
            key_names.push(name.to_string());
            let missing_left = left.columns().is_some() && left.get(name).is_none();
            let missing_right = right.columns().is_some() && right.get(name).is_none();
            if missing_left && missing_right {
                self.missing(&left, key, name, "join key");
                if let Some(last) = self.out.diagnostics.last_mut() {
                    last.message = format!(
                        "join key `{name}` is a column of neither the data before the join nor table `{table_name}`"
                    );
                }
            } else if missing_left {
                self.missing(&left, key, name, "join key");
                if let Some(last) = self.out.diagnostics.last_mut() {
                    last.labels.push(crate::diagnostics::Label {
                        span: table.span,
                        message: format!(
                            "the right side of the join: `{table_name}`, which has it"
                        ),
                    });
                }
            } else if missing_right {
                let names = right.names();
                self.out.diagnostics.push(
                    Diagnostic::at(
                        Code::UnknownColumn,
                        key.span,
                        format!("join key `{name}` is not a column of table `{table_name}`"),
                    )
                    .with_label("no such column")
                    .with_secondary(table.span, format!("table `{table_name}`"))
                    .with_did_you_mean(name, &names, key.span),
                );
            }
            let resolved = match left.get(name) {
                Some(column) => Ok(column.clone()),
                None => Err("not checked: the columns before this join are not known".into()),
            };
            self.out.references.push(ColumnRef {
                span: key.span,
                column: name.to_string(),
                resolved,
            });
        }
        let (Frame::Known(mut columns), Frame::Known(added)) = (left, right) else {
            return Frame::Unknown(format!(
                "the columns joined from `{table_name}` are not known"
            ));
        };
        let mut collisions = Vec::new();
        for column in added {
            if key_names.iter().any(|key| **key == *column.name) {
                continue;
            }
            if columns.iter().any(|c| c.name == column.name) {
                collisions.push(column.name.to_string());
                columns.push(FrameColumn {
                    name: Arc::from(format!("{}_right", column.name)),
                    ..column
                });
            } else {
                columns.push(column);
            }
        }
        if !collisions.is_empty() {
            let list = collisions
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.out.diagnostics.push(
                Diagnostic::at(
                    Code::JoinColumnCollision,
                    table.span,
                    format!(
                        "joining `{table_name}` brings {list}, which the frame already has; the joined copies are named `<name>_right`"
                    ),
                )
                .with_label("duplicate columns")
                .with_help(format!(
                    "drop or rename {list} in one of the tables, or add {} to join_key",
                    if collisions.len() == 1 { "it" } else { "them" }
                )),
            );
        }
        Frame::Known(columns)
    }

    /// Declared classes against the label's observed values.
    fn classes(&mut self, label: &FrameColumn, classes: &Node) {
        let Some(observed) = label.schema.as_ref().and_then(|s| s.values.as_ref()) else {
            return;
        };
        let declared: Vec<(&Node, String)> = items(Some(classes))
            .iter()
            .filter_map(|node| scalar_text(node).map(|text| (node, text)))
            .collect();
        for (node, text) in &declared {
            if !observed.iter().any(|value| same_value(text, value)) {
                self.out.diagnostics.push(
                    Diagnostic::at(
                        Code::ClassNotInData,
                        node.span,
                        format!(
                            "class `{text}` never occurs in `{}` ({}), which holds {}",
                            label.name,
                            label.origin,
                            observed.join(", ")
                        ),
                    )
                    .with_label("not in the data")
                    .with_did_you_mean(
                        text,
                        &observed.iter().map(String::as_str).collect::<Vec<_>>(),
                        node.span,
                    ),
                );
            }
        }
        let undeclared: Vec<&String> = observed
            .iter()
            .filter(|value| !declared.iter().any(|(_, text)| same_value(text, value)))
            .collect();
        let some_matched = declared
            .iter()
            .any(|(_, text)| observed.iter().any(|value| same_value(text, value)));
        // When no declared class matches, the errors above already say what the data holds.
        if !undeclared.is_empty() && some_matched && declared.len() == items(Some(classes)).len() {
            let list: Vec<String> = undeclared.iter().map(|v| format!("`{v}`")).collect();
            self.out.diagnostics.push(
                Diagnostic::at(
                    Code::ClassNotInData,
                    classes.span,
                    format!(
                        "`{}` also holds {}, which `classes` does not list",
                        label.name,
                        list.join(", ")
                    ),
                )
                .with_label("incomplete classes")
                .with_help(format!(
                    "list every class of the label: [{}]",
                    label
                        .schema
                        .as_ref()
                        .and_then(|s| s.values.as_ref())
                        .map(|v| v.join(", "))
                        .unwrap_or_default()
                )),
            );
        }
    }

    /// A partition key with time windows must hold dates.
    fn date_column(&mut self, node: &Node, column: &FrameColumn) {
        let dtype = column.dtype();
        if !matches!(
            dtype,
            DataType::Date | DataType::Datetime | DataType::Unknown
        ) {
            self.type_error(
                node,
                format!(
                    "partition_key `{}` is a {} column; time windows need dates (YYYY-MM-DD)",
                    column.name,
                    dtype.as_str()
                ),
                "use a date column as partition_key, or remove data_windows",
            );
        }
    }

    fn validation_check(&mut self, frame: &Frame, check: &Node) {
        let kind = check.get_path(&["type"]).and_then(Node::as_str);
        match kind {
            Some("null_threshold" | "expected_columns" | "unique_key") => {
                for node in one_or_many(check.get_path(&["columns"])) {
                    self.reference(frame, node, "column");
                }
            }
            Some("value_range") => {
                let Some(node) = check.get_path(&["column"]) else {
                    return;
                };
                if let Some(column) = self.reference(frame, node, "column") {
                    let dtype = column.dtype();
                    if !(dtype.is_numeric() || dtype == DataType::Unknown) {
                        self.type_error(
                            node,
                            format!(
                                "`{}` is a {} column; value_range compares numbers",
                                column.name,
                                dtype.as_str()
                            ),
                            "check a numeric column, or convert this one first (a `sql:` transform with CAST)",
                        );
                    }
                }
            }
            Some("type_check") => {
                let Some(mapping) = check.get_path(&["columns"]).and_then(Node::as_mapping) else {
                    return;
                };
                for entry in &mapping.entries {
                    let key = Node {
                        kind: NodeKind::String(entry.key.clone()),
                        span: entry.key_span,
                    };
                    let Some(column) = self.reference(frame, &key, "column") else {
                        continue;
                    };
                    let Some(expected) = entry.value.as_str() else {
                        continue;
                    };
                    let dtype = column.dtype();
                    if !type_fits(expected, dtype) {
                        self.type_error(
                            &entry.value,
                            format!(
                                "`{}` is a {} column in the data; this check expects {expected} and would fail",
                                column.name,
                                dtype.as_str()
                            ),
                            &format!("expect {} (or convert the column first)", dtype.as_str()),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// The frame after one custom transform.
    fn transform(&mut self, frame: Frame, transform: &Node) -> Frame {
        if let Some(sql) = transform.get_path(&["sql"]) {
            let Some(text) = name_of(sql) else {
                return Frame::Unknown("the SQL is set at run time".into());
            };
            // Very long statements are not analyzed: their syntax trees can nest deeper than a
            // thread's stack.
            if text.len() > MAX_SQL_LEN {
                return Frame::Unknown("the SQL is too long to analyze".into());
            }
            let Frame::Known(columns) = &frame else {
                // Still report syntax errors.
                if let SqlColumns::Syntax(error, at) = sql_columns(text, &[]) {
                    self.sql_syntax(sql, text, &error, at);
                }
                return frame;
            };
            let names: Vec<&str> = columns.iter().map(|c| &*c.name).collect();
            return match sql_columns(text, &names) {
                SqlColumns::Syntax(error, at) => {
                    self.sql_syntax(sql, text, &error, at);
                    Frame::Unknown("the SQL does not parse".into())
                }
                SqlColumns::Unknown { reason, missing } => {
                    self.sql_missing(&frame, sql, text, &missing);
                    Frame::Unknown(format!(
                        "the output of the SQL transform is not known: {reason}"
                    ))
                }
                SqlColumns::Known { output, missing } => {
                    self.sql_missing(&frame, sql, text, &missing);
                    for column in columns {
                        if !output.iter().any(|(name, _)| **name == *column.name) {
                            self.dropped.push((column.name.to_string(), sql.span));
                        }
                    }
                    let origin: Arc<str> = Arc::from("a sql transform");
                    self.origins.push((origin.to_string(), sql.span));
                    Frame::Known(
                        output
                            .into_iter()
                            .map(|(name, source)| {
                                match source.and_then(|s| frame.get(&s).cloned()) {
                                    Some(column) => FrameColumn {
                                        name: Arc::from(name),
                                        ..column
                                    },
                                    None => FrameColumn {
                                        name: Arc::from(name),
                                        origin: origin.clone(),
                                        schema: None,
                                        rows: None,
                                    },
                                }
                            })
                            .collect(),
                    )
                }
            };
        }
        let Some(reference) = name_of(transform) else {
            return Frame::Unknown("a transform is set at run time".into());
        };
        let Some((module, function)) = reference.rsplit_once('.') else {
            return Frame::Unknown(format!("`{reference}` is not a function reference"));
        };
        let files = self.db.project().files(self.db);
        let path = module.replace('.', "/");
        let file = files
            .get(&format!("{path}.py"))
            .or_else(|| files.get(&format!("{path}/__init__.py")))
            .copied();
        let effects =
            file.and_then(|file| python_column_effects(self.db, file).get(function).cloned());
        let Some(effects) = effects else {
            return Frame::Unknown(format!(
                "`{reference}` does not declare the columns it adds or removes (`Adds columns: a, b` in its docstring)"
            ));
        };
        let Frame::Known(mut columns) = frame else {
            return frame;
        };
        self.origins
            .push((format!("transform `{reference}`"), transform.span));
        for removed in &effects.removes {
            self.dropped.push((removed.clone(), transform.span));
        }
        columns.retain(|c| !effects.removes.iter().any(|r| **r == *c.name));
        // The function may change any column's values and type: only the names are known.
        for column in &mut columns {
            column.schema = None;
        }
        for added in effects.adds {
            columns.retain(|c| *c.name != *added);
            columns.push(FrameColumn {
                name: Arc::from(added),
                origin: Arc::from(format!("transform `{reference}`")),
                schema: None,
                rows: None,
            });
        }
        Frame::Known(columns)
    }

    fn sql_syntax(&mut self, node: &Node, text: &str, error: &str, at: Option<(u64, u64)>) {
        let span = at.map_or(node.span, |(line, column)| {
            self.sql_span(node, text, line, column, 1)
        });
        self.out.diagnostics.push(
            Diagnostic::at(
                Code::SqlSyntax,
                span,
                format!("the SQL transform does not parse: {error}"),
            )
            .with_label("invalid SQL")
            .with_help("write one `SELECT ... FROM data` statement"),
        );
    }

    fn sql_missing(&mut self, frame: &Frame, node: &Node, text: &str, missing: &[Missing]) {
        let names = frame.names();
        for Missing { column, at, len } in missing {
            let span = at.map_or(node.span, |(line, col)| {
                self.sql_span(node, text, line, col, *len)
            });
            self.out.diagnostics.push(
                Diagnostic::at(
                    Code::UnknownColumn,
                    span,
                    format!("the SQL transform reads `{column}`, which is not a column of `data` at this point"),
                )
                .with_label("unknown column in SQL")
                .with_did_you_mean(column, &names, span),
            );
        }
    }

    /// The span of a position inside a SQL scalar, when the scalar is written as is (plain or
    /// quoted on one line, so the SQL's text is the source's); else the whole scalar.
    fn sql_span(&self, node: &Node, text: &str, line: u64, column: u64, len: usize) -> Span {
        let files = self.db.project().files(self.db);
        let source = files
            .values()
            .find(|file| file.id(self.db) == node.span.file)
            .map(|file| file.text(self.db).clone());
        let Some(source) = source else {
            return node.span;
        };
        let (start, end) = (node.span.start as usize, node.span.end as usize);
        let written = source.get(start..end).unwrap_or_default();
        let inner = written
            .strip_prefix(['"', '\''])
            .and_then(|w| w.strip_suffix(['"', '\'']))
            .unwrap_or(written);
        if inner != text || line != 1 {
            return node.span;
        }
        let skip = (written.len() - inner.len()) / 2;
        let offset: usize = text
            .chars()
            .take(column.saturating_sub(1) as usize)
            .map(char::len_utf8)
            .sum();
        let from = start + skip + offset;
        let mut to = (from + len).min(start + skip + inner.len()).max(from);
        // A quoted or non-ASCII identifier: never split a character.
        while !source.is_char_boundary(to) {
            to -= 1;
        }
        if !source.is_char_boundary(from) {
            return node.span;
        }
        Span::new(node.span.file, from as u32, to.max(from) as u32)
    }

    fn serving(&mut self, serving: &Node) {
        let Some(table) = serving.get_path(&["data_source", "scoring_table"]) else {
            return;
        };
        let frame = self.table(table);
        // The published table holds the model's key column (the training pipeline's
        // primary_key), the prediction and the label: a name used twice keeps only one of them.
        let primary_key = serving
            .get_path(&["model_source", "training_pipeline"])
            .and_then(name_of)
            .and_then(|name| {
                let index = super::parse::pipeline_index(self.db, self.db.project());
                let file = *index.by_name.get(name)?;
                let validated = validated(self.db, file);
                validated
                    .root
                    .as_ref()?
                    .get_path(&["training", "schema", "identifiers", "primary_key"])
                    .and_then(name_of)
                    .map(str::to_string)
            });
        let mut taken: Vec<(String, String)> = primary_key
            .map(|key| {
                (
                    key,
                    "the key column (the training pipeline's primary_key)".to_string(),
                )
            })
            .into_iter()
            .collect();
        for key in ["prediction", "label"] {
            let Some(node) = serving.get_path(&["output", "columns", key]) else {
                continue;
            };
            let Some(name) = name_of(node) else { continue };
            if let Some((_, what)) = taken.iter().find(|(taken, _)| taken == name) {
                self.out.diagnostics.push(
                    Diagnostic::at(
                        Code::OutputColumnCollision,
                        node.span,
                        format!(
                            "output column `{name}` is also {what}: the published table keeps one of them"
                        ),
                    )
                    .with_label("name already used")
                    .with_help(format!("choose another name, e.g. `{name}_{key}`")),
                );
            }
            taken.push((name.to_string(), format!("the `{key}` column")));
        }
        self.out.stages.push((Stage::Scoring, frame));
    }
}

/// The text of a scalar class label (`0`, `yes`, `true`).
fn scalar_text(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::String(text) if text.contains("{{") => None,
        NodeKind::String(text) => Some(text.clone()),
        NodeKind::Int(value) => Some(value.to_string()),
        NodeKind::Float(value) => Some(value.to_string()),
        NodeKind::Bool(value) => Some(value.to_string()),
        _ => None,
    }
}

/// Whether a column of type `dtype` passes the runtime's `type_check` for `expected`.
fn type_fits(expected: &str, dtype: DataType) -> bool {
    use DataType::*;
    match (expected, dtype) {
        (_, Unknown) => true,
        ("integer", Integer) => true,
        ("float", Integer | Float) => true,
        // CSV dates stay text in the frame.
        ("string", String | Date | Datetime) => true,
        ("boolean", Boolean) => true,
        ("date" | "datetime", Date | Datetime | String) => true,
        (other, _) => !matches!(
            other,
            "integer" | "float" | "string" | "boolean" | "date" | "datetime"
        ),
    }
}

/// The one note or warning about how the catalog was read (cached, unavailable), at the target's
/// `data_connector` in profiles.yaml when it is written there.
#[salsa::tracked]
pub fn catalog_diagnostics(db: &dyn Db, project: crate::db::Project) -> Arc<Vec<Diagnostic>> {
    use crate::db::CatalogState;
    let (code, message, help) = match &**project.catalog(db) {
        CatalogState::NotLoaded | CatalogState::Fresh { .. } => return Arc::default(),
        CatalogState::Cached { location, reason } => (
            Code::CatalogCached,
            format!("the data in {location} cannot be read ({reason}); column references are checked against target/catalog.json as last read"),
            "make the data reachable and run `mbt catalog` to read it again",
        ),
        CatalogState::Unavailable { location, reason } => (
            Code::CatalogUnavailable,
            format!("column references are not checked: the data in {location} cannot be read ({reason})"),
            "make the data reachable (create the folder, connect to the database) and run `mbt catalog`",
        ),
    };
    let profile = super::profiles::resolved_profile(db, project);
    let span = project.profiles(db).and_then(|file| {
        let parsed = super::parse::parse_file(db, file);
        let root = parsed.root.as_ref()?;
        let profile_node = root.get_path(&[profile.profile.as_str()])?;
        profile_node
            .get_path(&["outputs", profile.target.as_str(), "data_connector"])
            .or_else(|| profile_node.get_path(&["data_connector"]))
            .map(|node| node.span)
    });
    Arc::new(vec![
        Diagnostic::new(code, span, message).with_help(help.to_string())
    ])
}
