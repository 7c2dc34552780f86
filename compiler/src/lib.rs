//! The MBT pipeline language compiler.
//!
//! It parses pipeline YAML into span-carrying nodes, resolves `!include` and `base_pipeline`,
//! renders templates, validates against the pipeline schema and each framework's rules, builds
//! the step DAG and emits the manifest. All of it runs as salsa queries over file texts that the
//! host sets as inputs: this crate does no I/O (no disk, environment, clock or network) and knows
//! nothing of polars, models or LSP.

pub mod assertions;
pub mod dag;
pub mod db;
pub mod diagnostics;
pub mod project;
pub mod queries;
pub mod schema;
pub mod template;
pub mod text;
pub mod yaml;

pub use db::{Database, Db, Project, Settings, SourceFile};
pub use diagnostics::{Code, Diagnostic, Severity};
/// The contract shared with the runtime: manifest, pipeline types, adapter table, codes.
pub use mbt_contract as contract;
pub use mbt_contract::manifest;
