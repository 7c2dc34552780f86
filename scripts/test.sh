#!/usr/bin/env bash
# Runs every test. Installs what the tests need (pre-commit in a cached venv) first.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${MBT_CACHE:-$HOME/.cache/mbt}"
mkdir -p "$cache"
venv="$cache/venv-precommit"
if [ ! -x "$venv/bin/pre-commit" ]; then
  echo "== installing pre-commit into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "pre-commit==4.7.0"
fi
export MBT_PRE_COMMIT="$venv/bin/pre-commit"
echo "== cargo test --workspace"
cargo test --workspace
