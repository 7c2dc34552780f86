//! Checks a node tree against a JSON Schema (the draft-07 schemas generated from our Rust types).
//!
//! Reporting every problem with a span needs more than a yes/no validator, so this walks the
//! schema subset schemars emits ($ref, allOf/anyOf/oneOf, type, enum/const, properties,
//! required, additionalProperties, items, numeric bounds) over our [`Node`]s.

use rustc_hash::FxHashSet;
use serde_json::Value;

use crate::diagnostics::{Code, Diagnostic};
use crate::text::Span;
use crate::yaml::{Node, NodeKind};

/// Checks `node` against `schema` (a root schema with `definitions`), appending diagnostics.
pub struct SchemaCheck<'a> {
    root: &'a Value,
    /// Scalars whose value is a template left for run time; only a string may stand there.
    pub deferred: &'a FxHashSet<Span>,
    pub diagnostics: Vec<Diagnostic>,
    /// How the root is named in messages ("the pipeline", "the test file", ...).
    pub root_name: &'static str,
}

impl<'a> SchemaCheck<'a> {
    pub fn new(root: &'a Value, deferred: &'a FxHashSet<Span>) -> SchemaCheck<'a> {
        SchemaCheck {
            root,
            deferred,
            diagnostics: Vec::new(),
            root_name: "the pipeline",
        }
    }

    /// Checks `node`; `path` names it in messages, `anchor` is where a missing key is reported.
    pub fn check(&mut self, node: &Node, path: &str, anchor: Span) {
        let root = self.root;
        self.check_against(node, root, path, anchor);
    }

    pub fn check_against(&mut self, node: &Node, schema: &'a Value, path: &str, anchor: Span) {
        // An include that failed to resolve was reported already; don't cascade.
        if matches!(node.kind, NodeKind::Include(_)) {
            return;
        }
        let schema = self.resolve(schema);
        let Some(object) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                self.push(Diagnostic::at(
                    Code::UnknownKey,
                    node.span,
                    format!("`{path}` is not allowed here"),
                ));
            }
            return;
        };
        if let Some(all) = object.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check_against(node, sub, path, anchor);
            }
        }
        if let Some(branches) = object
            .get("anyOf")
            .or_else(|| object.get("oneOf"))
            .and_then(Value::as_array)
        {
            self.check_alternatives(node, branches, path, anchor);
        }
        if let Some(expected) = object.get("type") {
            if !type_matches(node, expected) {
                self.wrong_type(node, &describe_type(expected), path);
                return;
            }
        }
        if let Some(allowed) = object.get("enum").and_then(Value::as_array) {
            self.check_enum(node, allowed, path);
        }
        if let Some(constant) = object.get("const") {
            self.check_enum(node, std::slice::from_ref(constant), path);
        }
        self.check_bounds(node, object, path);
        match &node.kind {
            NodeKind::Mapping(mapping) => {
                let properties = object.get("properties").and_then(Value::as_object);
                let additional = object.get("additionalProperties");
                for entry in &mapping.entries {
                    let child_path = join(path, &entry.key);
                    match properties.and_then(|properties| properties.get(&entry.key)) {
                        Some(sub) => {
                            self.check_against(&entry.value, sub, &child_path, entry.key_span)
                        }
                        None => match additional {
                            Some(Value::Bool(false)) => {
                                let known: Vec<&str> = properties
                                    .map(|p| p.keys().map(String::as_str).collect())
                                    .unwrap_or_default();
                                let place = if path.is_empty() {
                                    self.root_name.to_string()
                                } else {
                                    format!("`{path}`")
                                };
                                self.push(
                                    Diagnostic::at(
                                        Code::UnknownKey,
                                        entry.key_span,
                                        format!("unknown key `{}` in {place}", entry.key),
                                    )
                                    .with_label("unknown key")
                                    .with_did_you_mean(
                                        &entry.key,
                                        &known,
                                        entry.key_span,
                                    ),
                                );
                            }
                            Some(sub @ Value::Object(_)) => {
                                self.check_against(&entry.value, sub, &child_path, entry.key_span)
                            }
                            _ => {}
                        },
                    }
                }
                if let Some(required) = object.get("required").and_then(Value::as_array) {
                    for key in required.iter().filter_map(Value::as_str) {
                        if mapping.get(key).is_none() {
                            let place = if path.is_empty() {
                                self.root_name.to_string()
                            } else {
                                format!("`{path}`")
                            };
                            let description = properties
                                .and_then(|p| p.get(key))
                                .map(|sub| self.resolve(sub))
                                .and_then(|sub| sub.get("description"))
                                .and_then(Value::as_str)
                                .map(|text| format!(" ({})", first_sentence(text)))
                                .unwrap_or_default();
                            self.push(
                                Diagnostic::at(
                                    Code::MissingKey,
                                    anchor,
                                    format!("missing key `{key}` in {place}"),
                                )
                                .with_label(format!("`{key}` is required here"))
                                .with_help(
                                    if self.root_name == "the pipeline" {
                                        format!(
                                            "add `{key}:`{description}, here or in a base pipeline"
                                        )
                                    } else {
                                        format!("add `{key}:`{description}")
                                    },
                                ),
                            );
                        }
                    }
                }
            }
            NodeKind::Sequence(items) => {
                if let Some(item_schema) = object.get("items") {
                    for (index, item) in items.iter().enumerate() {
                        let child_path = format!("{path}[{index}]");
                        self.check_against(item, item_schema, &child_path, item.span);
                    }
                }
                if let Some(min) = object.get("minItems").and_then(Value::as_u64) {
                    if (items.len() as u64) < min {
                        self.push(
                            Diagnostic::at(
                                Code::OutOfRange,
                                node.span,
                                format!(
                                    "`{path}` needs at least {min} item(s), found {}",
                                    items.len()
                                ),
                            )
                            .with_help(format!("add items to `{path}`")),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let target = reference
                .strip_prefix("#/definitions/")
                .and_then(|name| self.root.get("definitions")?.get(name))
                .or_else(|| {
                    reference
                        .strip_prefix("#/$defs/")
                        .and_then(|name| self.root.get("$defs")?.get(name))
                });
            match target {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn check_alternatives(&mut self, node: &Node, branches: &'a [Value], path: &str, anchor: Span) {
        let branches: Vec<&'a Value> = branches.iter().map(|b| self.resolve(b)).collect();
        // A documented unit enum: every branch is a constant.
        let constants: Option<Vec<&Value>> = branches
            .iter()
            .map(|branch| {
                branch
                    .get("const")
                    .or_else(|| branch.get("enum")?.as_array()?.first())
            })
            .collect();
        if let Some(constants) = constants {
            let allowed: Vec<Value> = constants.into_iter().cloned().collect();
            if type_matches(node, &Value::String("string".into()))
                || !allowed.iter().all(Value::is_string)
            {
                self.check_enum(node, &allowed, path);
            } else {
                self.wrong_type(node, "a string", path);
            }
            return;
        }
        if matches!(node.kind, NodeKind::Null)
            && branches
                .iter()
                .any(|branch| branch.get("type").is_some_and(|t| type_matches(node, t)))
        {
            return;
        }
        // An internally tagged enum: every branch fixes the same property to a constant.
        if let Some((tag, variants)) = discriminator(&branches) {
            let Some(mapping) = node.as_mapping() else {
                self.wrong_type(node, "a mapping", path);
                return;
            };
            let Some(entry) = mapping.entry(tag) else {
                let names: Vec<&str> = variants.iter().map(|(name, _)| *name).collect();
                self.push(
                    Diagnostic::at(
                        Code::MissingKey,
                        anchor,
                        format!("missing key `{tag}` in `{path}`"),
                    )
                    .with_label(format!("`{tag}` is required here"))
                    .with_help(format!("add `{tag}:` with one of: {}", names.join(", "))),
                );
                return;
            };
            let chosen = entry
                .value
                .as_str()
                .and_then(|value| variants.iter().find(|(name, _)| *name == value));
            match chosen {
                Some((_, branch)) => self.check_against(node, branch, path, anchor),
                None => {
                    let names: Vec<&str> = variants.iter().map(|(name, _)| *name).collect();
                    let found = scalar_text(&entry.value);
                    self.push(
                        Diagnostic::at(
                            Code::InvalidEnumValue,
                            entry.value.span,
                            format!("invalid value `{found}` for `{}`", join(path, tag)),
                        )
                        .with_label("not a known value")
                        .with_did_you_mean(
                            &found,
                            &names,
                            entry.value.span,
                        ),
                    );
                }
            }
            return;
        }
        // Untagged alternatives: the first branch that accepts the node wins.
        let mut best: Option<Vec<Diagnostic>> = None;
        for branch in &branches {
            let mut trial = SchemaCheck::new(self.root, self.deferred);
            trial.root_name = self.root_name;
            trial.check_against(node, branch, path, anchor);
            if trial.diagnostics.is_empty() {
                return;
            }
            let type_ok = branch.get("type").is_none_or(|t| type_matches(node, t));
            if type_ok && best.is_none() {
                best = Some(trial.diagnostics);
            }
        }
        match best {
            Some(diagnostics) => self.diagnostics.extend(diagnostics),
            None => {
                let expected: Vec<String> = branches
                    .iter()
                    .filter_map(|branch| branch.get("type").map(describe_type))
                    .collect();
                self.wrong_type(node, &expected.join(" or "), path);
            }
        }
    }

    fn check_enum(&mut self, node: &Node, allowed: &[Value], path: &str) {
        let value = node.to_json();
        if allowed
            .iter()
            .any(|candidate| json_equal(candidate, &value))
        {
            return;
        }
        if self.deferred.contains(&node.span) {
            self.deferred_type(node, path);
            return;
        }
        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        let found = scalar_text(node);
        self.push(
            Diagnostic::at(
                Code::InvalidEnumValue,
                node.span,
                format!("invalid value `{found}` for `{path}`"),
            )
            .with_label("not a known value")
            .with_did_you_mean(&found, &names, node.span),
        );
    }

    fn check_bounds(&mut self, node: &Node, object: &serde_json::Map<String, Value>, path: &str) {
        let value = match node.kind {
            NodeKind::Int(value) => value as f64,
            NodeKind::Float(value) => value,
            _ => return,
        };
        let bound = |key: &str| object.get(key).and_then(Value::as_f64);
        let mut rules = Vec::new();
        let mut violated = false;
        if let Some(min) = bound("minimum") {
            rules.push(format!("at least {}", number(min)));
            violated |= value < min;
        }
        if let Some(min) = bound("exclusiveMinimum") {
            rules.push(format!("greater than {}", number(min)));
            violated |= value <= min;
        }
        if let Some(max) = bound("maximum") {
            rules.push(format!("at most {}", number(max)));
            violated |= value > max;
        }
        if let Some(max) = bound("exclusiveMaximum") {
            rules.push(format!("less than {}", number(max)));
            violated |= value >= max;
        }
        if violated || value.is_nan() {
            let rule = rules.join(" and ");
            self.push(
                Diagnostic::at(
                    Code::OutOfRange,
                    node.span,
                    format!("`{path}` must be {rule}, found {}", number(value)),
                )
                .with_label("out of range")
                .with_help(format!("use a value that is {rule}")),
            );
        }
    }

    fn wrong_type(&mut self, node: &Node, expected: &str, path: &str) {
        if self.deferred.contains(&node.span) {
            self.deferred_type(node, path);
            return;
        }
        let mut diagnostic = Diagnostic::at(
            Code::WrongType,
            node.span,
            format!("`{path}` must be {expected}, found {}", node.type_name()),
        )
        .with_label(format!("expected {expected}"));
        diagnostic = match (&node.kind, expected) {
            (NodeKind::String(text), "a list") => {
                diagnostic.with_help(format!("write a list: `[{text}]`"))
            }
            (NodeKind::Mapping(_), "a string") | (NodeKind::Sequence(_), "a string") => {
                diagnostic.with_help("write a single value")
            }
            (NodeKind::String(text), _)
                if expected.contains("number") || expected.contains("integer") =>
            {
                diagnostic.with_help(format!("write a number without quotes instead of `{text}`"))
            }
            _ => diagnostic.with_help(format!("replace the value with {expected}")),
        };
        self.push(diagnostic);
    }

    fn deferred_type(&mut self, node: &Node, path: &str) {
        self.push(
            Diagnostic::at(
                Code::DeferredValueType,
                node.span,
                format!("`{path}` needs a value at compile time, but its variable is not set"),
            )
            .with_label("left for run time")
            .with_help(
                "pass the variable with `--vars NAME=VALUE`, or give it a default; `run_vars` cannot defer it, this field is checked at compile time",
            ),
        );
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// For branches that all pin one property to a constant, returns that property and the
/// (constant, branch) pairs.
fn discriminator<'a>(branches: &[&'a Value]) -> Option<(&'a str, Vec<(&'a str, &'a Value)>)> {
    let first = branches.first()?;
    let properties = first.get("properties")?.as_object()?;
    let (tag, _) = properties
        .iter()
        .find(|(_, schema)| constant_of(schema).is_some())?;
    let variants = branches
        .iter()
        .map(|branch| {
            Some((
                constant_of(branch.get("properties")?.get(tag.as_str())?)?,
                *branch,
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((tag.as_str(), variants))
}

fn constant_of(schema: &Value) -> Option<&str> {
    schema
        .get("const")
        .or_else(|| {
            let values = schema.get("enum")?.as_array()?;
            (values.len() == 1).then(|| &values[0])
        })?
        .as_str()
}

fn type_matches(node: &Node, expected: &Value) -> bool {
    match expected {
        Value::String(name) => matches!(
            (name.as_str(), &node.kind),
            ("null", NodeKind::Null)
                | ("boolean", NodeKind::Bool(_))
                | ("integer", NodeKind::Int(_))
                | ("number", NodeKind::Int(_) | NodeKind::Float(_))
                | ("string", NodeKind::String(_))
                | ("array", NodeKind::Sequence(_))
                | ("object", NodeKind::Mapping(_))
        ),
        Value::Array(names) => names.iter().any(|name| type_matches(node, name)),
        _ => true,
    }
}

fn describe_type(expected: &Value) -> String {
    let one = |name: &str| match name {
        "null" => "null",
        "boolean" => "a boolean",
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "array" => "a list",
        "object" => "a mapping",
        _ => "a value",
    };
    match expected {
        Value::String(name) => one(name).to_string(),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| *name != "null")
            .map(one)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".to_string(),
    }
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn scalar_text(node: &Node) -> String {
    match &node.kind {
        NodeKind::String(text) => text.clone(),
        NodeKind::Null => "null".into(),
        _ => node.to_json().to_string(),
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn first_sentence(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim_end_matches('.')
}
