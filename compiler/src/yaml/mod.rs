//! The YAML layer: a span-preserving parse of one file into our own [`Node`] tree.
//!
//! It never fails: it returns whatever tree it could build plus a list of [`YamlError`]s. It knows
//! nothing of salsa, pipelines, manifests or LSP. Every node keeps the byte span it came from, so
//! later stages (merging, validation, hover) can point back at the source.

mod emit;
mod node;
mod parse;
mod scalar;

pub use emit::emit_annotated;
pub use node::{Entry, Mapping, Node, NodeKind};
pub use parse::{parse, Parsed, YamlError, YamlErrorKind};
pub use scalar::{resolve_plain_scalar, ScalarValue};
