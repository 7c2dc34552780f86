//! What MBT's compiler and runtime agree on, in one crate both depend on: the manifest and its
//! typed step configs, the pipeline format's types, framework configs, the adapter table and
//! typed target settings, the secret-reference codec and the diagnostic code table.
//!
//! It holds types and pure functions (plus [`fs`], the one atomic-write primitive). It must not
//! depend on the compiler's machinery (salsa, saphyr, minijinja) or on polars and models: the
//! runtime builds against this crate alone, and the compiler re-exports it.

pub mod adapters;
pub mod catalog;
pub mod codes;
pub mod frameworks;
pub mod fs;
pub mod manifest;
pub mod parquet;
pub mod pipeline;
pub mod schema;
pub mod secret;
pub mod suggest;

pub use codes::{Code, Severity};
