//! The pipeline schema: Rust types, their generated JSON Schemas, and the checks run on trees.

pub mod check;
pub mod frameworks;
pub mod profiles;
pub mod tests_file;

use std::sync::OnceLock;

pub use mbt_contract::pipeline;
pub use mbt_contract::schema::schema_of;
use serde_json::Value;

/// The strict schema of a merged pipeline.
pub fn pipeline_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(schema_of::<pipeline::Pipeline>)
}

/// The authoring schema for editors: nothing required (a base may supply it) and a string
/// (an `!include` path) accepted wherever a mapping or list stands.
pub fn authoring_schema() -> Value {
    let mut schema = pipeline_schema().clone();
    relax_root(&mut schema);
    if let Some(object) = schema.as_object_mut() {
        object.insert("title".into(), "MBT pipeline (authoring)".into());
        object.insert(
            "description".into(),
            "Schema for editing pipeline files: a derived pipeline may omit what its base_pipeline supplies, and `!include PATH` may stand for any mapping or list. `mbt check` validates the merged result strictly.".into(),
        );
    }
    schema
}

/// Drops `required` everywhere and lets a string stand for any mapping with properties or list.
/// The root itself stays a mapping (it holds the `definitions` that `$ref`s point into).
fn relax_root(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    root.remove("required");
    for key in ["properties", "definitions"] {
        if let Some(Value::Object(children)) = root.get_mut(key) {
            for child in children.values_mut() {
                relax(child);
            }
        }
    }
}

fn relax(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            object.remove("required");
            for value in object.values_mut() {
                relax(value);
            }
            let kind = object.get("type").and_then(Value::as_str);
            let includable = (kind == Some("object") && object.contains_key("properties"))
                || kind == Some("array");
            if includable {
                let inner = Value::Object(std::mem::take(object));
                object.insert(
                    "anyOf".into(),
                    serde_json::json!([inner, {"type": "string", "description": "`!include PATH` of a YAML fragment"}]),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(relax),
        _ => {}
    }
}
