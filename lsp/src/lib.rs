//! The MBT language server (`mbt lsp`): MBT's own diagnostics, completion and navigation in
//! any LSP editor.
//!
//! It owns one `mbt_compiler::Database` per project root and answers with the same compiler
//! queries `mbt check` uses (one diagnostic, one code path): it never validates on its own.
//! The main loop ([`server`]) applies edits strictly in order on one thread; diagnostics and
//! requests run on database snapshots in worker threads, where an edit cancels them (salsa
//! unwinds with `Cancelled`) and a panic becomes an error response, never a dead server.
//! Only this crate uses LSP types; positions are UTF-16 code units ([`position`]).

pub mod actions;
pub mod completion;
pub mod definition;
pub mod describe;
pub mod diagnostics;
pub mod format;
pub mod hover;
pub mod inlay;
pub mod locate;
pub mod position;
pub mod schema_nav;
pub mod server;
pub mod symbols;
pub mod uri;
pub mod workspace;

pub use server::{run, run_stdio, Config};

/// Where each diagnostic code is explained: `{DOCS_URL}/MBT1001`. The page for a code is the
/// text `mbt explain CODE` prints (both come from the code's doc comment).
pub const DOCS_URL: &str = "https://mbt.dev/docs/errors";
