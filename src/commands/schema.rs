//! `mbt schema KIND`: prints the JSON Schemas that `schemas/` holds.

use std::process::ExitCode;

use mbt_compiler::contract::catalog::CatalogFile;
use mbt_compiler::manifest::Manifest;
use mbt_compiler::schema::profiles::ProfilesFile;
use mbt_compiler::schema::tests_file::TestFile;
use mbt_compiler::schema::{authoring_schema, pipeline_schema, schema_of};

use crate::args::{SchemaArgs, SchemaKind};
use crate::outln;

pub fn run(args: SchemaArgs) -> anyhow::Result<ExitCode> {
    outln!("{}", schema_text(args.kind));
    Ok(ExitCode::SUCCESS)
}

/// The schema as written to `schemas/` (pretty JSON).
pub fn schema_text(kind: SchemaKind) -> String {
    let value = match kind {
        SchemaKind::Pipeline => pipeline_schema().clone(),
        SchemaKind::PipelineAuthoring => authoring_schema(),
        SchemaKind::Manifest => schema_of::<Manifest>(),
        SchemaKind::Profiles => schema_of::<ProfilesFile>(),
        SchemaKind::Tests => schema_of::<TestFile>(),
        SchemaKind::Catalog => schema_of::<CatalogFile>(),
    };
    serde_json::to_string_pretty(&value).expect("schemas serialize")
}
