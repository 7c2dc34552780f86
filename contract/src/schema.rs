//! JSON Schemas of the contract's types, as the compiler checks them and `schemas/` publishes them.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::Value;

/// The draft-07 JSON Schema of a type, as JSON (draft-07 is what editors' YAML support reads).
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    serde_json::to_value(schema).expect("schemas serialize")
}
