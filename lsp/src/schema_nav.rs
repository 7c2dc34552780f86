//! Walking the compiler's JSON Schemas (the same ones `mbt check` validates with) for the keys,
//! values and documentation valid at a path: `$ref`, `anyOf`/`oneOf`/`allOf`, `properties`,
//! `additionalProperties` and `items`.

use std::sync::OnceLock;

use mbt_compiler::schema::profiles::ProfilesFile;
use mbt_compiler::schema::tests_file::TestFile;
use mbt_compiler::schema::{pipeline_schema, schema_of};
use serde_json::Value;

use crate::locate::Segment;

/// Which schema a file follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Pipeline,
    /// A fragment under `includes/`: a piece of a pipeline at the place it is included.
    Fragment,
    Profiles,
    Tests,
    Other,
}

pub fn file_kind(path: &str) -> FileKind {
    let yaml = path.ends_with(".yaml") || path.ends_with(".yml");
    if !yaml {
        FileKind::Other
    } else if mbt_compiler::queries::check::is_test_file(path) {
        FileKind::Tests
    } else if path == "profiles.yaml" || path == "profiles.yml" {
        FileKind::Profiles
    } else if mbt_compiler::queries::parse::pipeline_name(path).is_some() {
        FileKind::Pipeline
    } else {
        FileKind::Fragment
    }
}

/// The root schema of a kind of file (fragments use the pipeline's, at their include path).
pub fn root_schema(kind: FileKind) -> Option<&'static Value> {
    static TESTS: OnceLock<Value> = OnceLock::new();
    static PROFILES: OnceLock<Value> = OnceLock::new();
    match kind {
        FileKind::Pipeline | FileKind::Fragment => Some(pipeline_schema()),
        FileKind::Tests => Some(TESTS.get_or_init(schema_of::<TestFile>)),
        FileKind::Profiles => Some(PROFILES.get_or_init(schema_of::<ProfilesFile>)),
        FileKind::Other => None,
    }
}

/// A schema and the document whose `definitions` its `$ref`s point into.
#[derive(Clone, Copy)]
pub struct At<'a> {
    pub root: &'a Value,
    pub schema: &'a Value,
}

/// The alternatives a schema allows, with `$ref`s followed and `anyOf`/`oneOf`/`allOf` flattened.
pub fn alternatives(at: At<'_>) -> Vec<At<'_>> {
    let mut out = Vec::new();
    flatten(at, &mut out, 0);
    out
}

fn flatten<'a>(at: At<'a>, out: &mut Vec<At<'a>>, depth: usize) {
    if depth > 16 {
        return;
    }
    let Some(object) = at.schema.as_object() else {
        return;
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        if let Some(target) = resolve_ref(at.root, reference) {
            flatten(
                At {
                    root: at.root,
                    schema: target,
                },
                out,
                depth + 1,
            );
        }
        return;
    }
    let mut branched = false;
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = object.get(key).and_then(Value::as_array) {
            branched = true;
            for branch in branches {
                flatten(
                    At {
                        root: at.root,
                        schema: branch,
                    },
                    out,
                    depth + 1,
                );
            }
        }
    }
    if !branched || object.contains_key("properties") {
        out.push(at);
    }
}

fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// The schemas of a child: a property, an additional property, or a list item.
pub fn child<'a>(at: At<'a>, segment: &Segment) -> Vec<At<'a>> {
    let mut out = Vec::new();
    for alternative in alternatives(at) {
        let object = match alternative.schema.as_object() {
            Some(object) => object,
            None => continue,
        };
        let next = match segment {
            Segment::Key(key) => object
                .get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| object.get("additionalProperties").filter(|v| v.is_object())),
            Segment::Item => object.get("items"),
        };
        if let Some(schema) = next {
            out.push(At {
                root: alternative.root,
                schema,
            });
        }
    }
    out
}

/// The schemas at a path from a root.
pub fn at_path<'a>(root: &'a Value, path: &[Segment]) -> Vec<At<'a>> {
    let mut current = vec![At { root, schema: root }];
    for segment in path {
        current = current.iter().flat_map(|at| child(*at, segment)).collect();
        if current.is_empty() {
            break;
        }
    }
    current
}

/// A key a mapping may hold.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyInfo {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
    /// The first alternative of the value's schema (to choose a snippet).
    pub kind: ValueShape,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueShape {
    Mapping,
    List,
    Scalar,
}

/// Keys of the mapping schemas in `schemas`. A tagged variant (a `const` property) whose tag
/// disagrees with `tag` (e.g. `type: value_range`) is left out.
pub fn keys(schemas: &[At<'_>], tag: Option<(&str, &str)>) -> Vec<KeyInfo> {
    let mut out: Vec<KeyInfo> = Vec::new();
    for at in schemas.iter().flat_map(|at| alternatives(*at)) {
        let Some(properties) = at.schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        if let Some((tag_key, tag_value)) = tag {
            let constant = properties
                .get(tag_key)
                .and_then(|p| p.get("const"))
                .and_then(Value::as_str);
            if constant.is_some_and(|c| c != tag_value) {
                continue;
            }
        }
        let required: Vec<&str> = at
            .schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, schema) in properties {
            if out.iter().any(|k| &k.name == name) {
                continue;
            }
            let value = At {
                root: at.root,
                schema,
            };
            out.push(KeyInfo {
                name: name.clone(),
                description: description(&[value]),
                required: required.contains(&name.as_str()),
                kind: shape(value),
            });
        }
    }
    out
}

fn shape(at: At<'_>) -> ValueShape {
    for alternative in alternatives(at) {
        match alternative.schema.get("type").and_then(Value::as_str) {
            Some("object") => return ValueShape::Mapping,
            Some("array") => return ValueShape::List,
            Some("null") => continue,
            _ => return ValueShape::Scalar,
        }
    }
    ValueShape::Scalar
}

/// The first description found on the schemas or their alternatives.
pub fn description(schemas: &[At<'_>]) -> Option<String> {
    schemas
        .iter()
        .flat_map(|at| std::iter::once(*at).chain(alternatives(*at)))
        .find_map(|at| at.schema.get("description").and_then(Value::as_str))
        .map(str::to_string)
}

/// Enumerated values (`enum`, `const`) allowed by the schemas, with descriptions.
pub fn values(schemas: &[At<'_>]) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut push = |value: &Value, doc: Option<&str>| {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Bool(_) | Value::Number(_) => value.to_string(),
            _ => return,
        };
        if !out.iter().any(|(existing, _)| *existing == text) {
            out.push((text, doc.map(str::to_string)));
        }
    };
    for at in schemas.iter().flat_map(|at| alternatives(*at)) {
        let doc = at.schema.get("description").and_then(Value::as_str);
        if let Some(values) = at.schema.get("enum").and_then(Value::as_array) {
            values.iter().for_each(|v| push(v, doc));
        }
        if let Some(value) = at.schema.get("const") {
            push(value, doc);
        }
        if at.schema.get("type").and_then(Value::as_str) == Some("boolean") {
            push(&Value::Bool(true), None);
            push(&Value::Bool(false), None);
        }
    }
    out
}
