//! `mbt lsp` driven over stdio by a real LSP client: pytest-lsp, with VS Code's capabilities,
//! on a copy of `examples/telecom-churn` (lsp/tests/e2e/test_mbt_lsp.py: open, break a base
//! and see its dependents' diagnostics appear and clear, quick fix, completion, hover,
//! definition, inlay hints).
//!
//! The Python comes from `$MBT_LSP_PYTHON` (scripts/test.sh installs pytest-lsp into a cached
//! venv). Without it the test is skipped with a printed reason, except in CI (`$CI` set),
//! where it fails.

mod util;

use std::path::PathBuf;
use std::process::Command;

use util::{clean_env, env_flag, repo_root, Sandbox};

#[test]
fn pytest_lsp_drives_mbt_lsp() {
    let python = match std::env::var_os("MBT_LSP_PYTHON").filter(|p| !p.is_empty()) {
        Some(python) => PathBuf::from(python),
        None if env_flag("CI") => {
            panic!("MBT_LSP_PYTHON is required in CI (scripts/test.sh installs pytest-lsp)")
        }
        None => {
            eprintln!("skipped pytest_lsp_drives_mbt_lsp: MBT_LSP_PYTHON is not set");
            return;
        }
    };
    let sandbox = Sandbox::new();
    let project = sandbox.copy_example("telecom-churn");
    let mut command = Command::new(&python);
    clean_env(&mut command, &sandbox.home());
    let output = command
        .current_dir(repo_root().join("lsp/tests/e2e"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "."])
        .env("MBT_BIN", util::mbt_bin())
        .env("MBT_LSP_PROJECT", &project)
        .env("LANG", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", python.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "pytest-lsp failed:\n{text}");
    assert!(text.contains("2 passed"), "{text}");
}
