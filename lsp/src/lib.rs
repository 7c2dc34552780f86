//! The MBT language server (`mbt lsp`), to be built on the compiler's salsa database.
//!
//! It will own one `mbt_compiler::Database`, apply edits in order, and answer requests with the
//! same queries `mbt check` uses (one diagnostic, one code path). Only this crate will use LSP
//! types. It is empty until the language-server issue; nothing depends on it yet.
