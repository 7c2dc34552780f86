//! The host side of compilation, in one place for every host: the `mbt` CLI, the language
//! server and the compiler's tests. It finds a project's root, walks its files with the
//! compiler's skip rules, reads them (invalid UTF-8 becomes MBT0007, never an error exit),
//! chooses `profiles.yaml`, builds the compile [`Settings`](mbt_compiler::Settings) from
//! [`Options`], and fills a [`Database`](mbt_compiler::Database).
//!
//! The compiler does no I/O; this crate does it for the compiler and nothing else (it knows no
//! LSP, no CLI flags and no runtime).

pub mod catalog;
mod discover;
mod load;
mod options;

pub use discover::{
    find_root, is_project_root, project_walk, relative_path, source_files, ProjectWalk,
};
pub use load::{
    invalid_utf8_diagnostic, load, profiles_path, read_source, settings, Loaded, SourceText,
};
pub use options::{parse_vars, Options};
