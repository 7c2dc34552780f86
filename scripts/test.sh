#!/usr/bin/env bash
# Runs every test: installs what the tests need (pre-commit 4.7.0, pandas + pyarrow for the
# Python bridge, pytest-lsp for the language server, in cached venvs), then
# `cargo test --workspace`, then lints (clippy with warnings denied, rustfmt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="${MBT_CACHE:-$HOME/.cache/mbt}"
mkdir -p "$cache"

venv="$cache/venv-precommit"
if ! "$venv/bin/pre-commit" --version 2>/dev/null | grep -qx 'pre-commit 4.7.0'; then
  echo "==> installing pre-commit 4.7.0 into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'pre-commit==4.7.0'
fi
export MBT_PRE_COMMIT="$venv/bin/pre-commit"

# The Python bridge's tests (custom transforms/validators/metrics) need pandas + pyarrow.
pyvenv="$cache/venv-python"
if ! "$pyvenv/bin/python" -c 'import pandas, pyarrow; assert pandas.__version__ == "2.3.3" and pyarrow.__version__ == "22.0.0"' 2>/dev/null; then
  echo "==> installing pandas 2.3.3 + pyarrow 22.0.0 into $pyvenv"
  rm -rf "$pyvenv"
  python3 -m venv "$pyvenv"
  "$pyvenv/bin/python" -m pip install --quiet --disable-pip-version-check 'pandas==2.3.3' 'pyarrow==22.0.0'
fi
export MBT_TEST_PYTHON="$pyvenv/bin/python"

# The language server's end-to-end test drives `mbt lsp` with a real LSP client (pytest-lsp).
lspvenv="$cache/venv-lsp"
lsp_requirements="lsp/tests/e2e/requirements.txt"
if ! cmp -s "$lsp_requirements" "$lspvenv/requirements.txt" 2>/dev/null; then
  echo "==> installing pytest-lsp (pinned in $lsp_requirements) into $lspvenv"
  rm -rf "$lspvenv"
  python3 -m venv "$lspvenv"
  "$lspvenv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$lsp_requirements"
  cp "$lsp_requirements" "$lspvenv/requirements.txt"
fi
export MBT_LSP_PYTHON="$lspvenv/bin/python"

echo "==> cargo test --workspace"
cargo test --workspace

echo "==> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cargo fmt --all -- --check"
cargo fmt --all -- --check

# VS Code extension (editors/vscode): npm ci, typecheck, unit tests (with the real mbt built by
# cargo test above), esbuild bundle, vsce package to editors/vscode/mbt-<version>.vsix.
echo "==> VS Code extension: bash editors/vscode/scripts/ci.sh"
if command -v node >/dev/null && command -v npm >/dev/null; then
  target_dir="${CARGO_TARGET_DIR:-target}"
  case "$target_dir" in /*) ;; *) target_dir="$(pwd)/$target_dir" ;; esac
  MBT_BIN="$target_dir/debug/mbt" bash editors/vscode/scripts/ci.sh
else
  echo "!!! SKIPPED the VS Code extension build and tests: node/npm not found on PATH (install Node 20+) !!!" >&2
fi
