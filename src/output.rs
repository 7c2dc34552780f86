//! Printing: colour decisions, diagnostics, broken pipes, atomic writes.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use mbt_compiler::diagnostics::render::{render, RenderConfig};
use mbt_compiler::diagnostics::{Diagnostic, Sources, Summary};

use crate::args::ColorChoice;

pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Writes diagnostics for humans on stderr, then a summary line.
pub fn print_diagnostics(
    diagnostics: &[Diagnostic],
    sources: &dyn Sources,
    color: bool,
) -> anyhow::Result<()> {
    let mut stderr = std::io::stderr().lock();
    for diagnostic in diagnostics {
        stderr.write_all(render(diagnostic, sources, RenderConfig { color }).as_bytes())?;
    }
    Ok(())
}

pub fn summary_line(summary: Summary) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(summary.errors, "error"),
        plural(summary.warnings, "warning")
    )
}

/// Writes `contents` to `path` atomically, through the one implementation every writer of MBT
/// shares (`mbt_contract::fs`: temporary file in the folder, fsync, rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    mbt_compiler::contract::fs::write_atomic(path, contents)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Prints to stdout, turning a closed pipe into a quiet exit.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}
