#!/usr/bin/env bash
# Runs every test: installs what the tests need (pre-commit 4.7.0, pandas + pyarrow for the
# Python bridge, pytest-lsp for the language server, MLflow 3.17.2, Airflow 3.3.2, in cached venvs;
# H2O-3 3.46.0.11's jar; Debian's PostgreSQL 15 and Prometheus Pushgateway; s3s-fs),
# then
# `cargo test --workspace`, the workspace against the newest allowed dependency versions,
# then lints (clippy with warnings denied, rustfmt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="${MBT_CACHE:-$HOME/.cache/mbt}"
mkdir -p "$cache"

source scripts/venv.sh
ensure_venv "$cache/venv-precommit" scripts/requirements/pre-commit.txt
export MBT_PRE_COMMIT="$cache/venv-precommit/bin/pre-commit"
# The Python bridge's tests (custom transforms/validators/metrics) need pandas + pyarrow,
# the sklearn framework's scikit-learn too.
ensure_venv "$cache/venv-python" scripts/requirements/python-bridge.txt
export MBT_TEST_PYTHON="$cache/venv-python/bin/python"
# The language server's end-to-end test drives `mbt lsp` with a real LSP client (pytest-lsp).
ensure_venv "$cache/venv-lsp" lsp/tests/e2e/requirements.txt
export MBT_LSP_PYTHON="$cache/venv-lsp/bin/python"
# The `mlflow` registry's tests start real MLflow tracking servers (tests/mlflow.rs); the first
# install takes about 5 minutes and 850 MB.
ensure_venv "$cache/venv-mlflow" scripts/requirements/mlflow.txt
export MBT_MLFLOW="$cache/venv-mlflow/bin/mlflow"
# The `h2o_automl` framework's tests run real H2O-3 (tests/h2o.rs): the server jar of PyPI's
# `h2o` wheel (pinned in scripts/requirements/h2o.txt; 3.46.0.12 is an sdist only), about 270 MB,
# downloaded once. Java 17 runs it.
h2o_dir="$cache/h2o"
if ! cmp -s scripts/requirements/h2o.txt "$h2o_dir/requirements.txt" 2>/dev/null; then
  echo "==> downloading $(cat scripts/requirements/h2o.txt) (h2o.jar) into $h2o_dir"
  rm -rf "$h2o_dir" && mkdir -p "$h2o_dir/wheel"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -r scripts/requirements/h2o.txt -d "$h2o_dir/wheel"
  python3 -m zipfile -e "$h2o_dir"/wheel/h2o-*.whl "$h2o_dir/unpacked" >/dev/null
  mv "$h2o_dir/unpacked/h2o/backend/bin/h2o.jar" "$h2o_dir/h2o.jar"
  rm -rf "$h2o_dir/wheel" "$h2o_dir/unpacked"
  cp scripts/requirements/h2o.txt "$h2o_dir/requirements.txt"
fi
export MBT_H2O_JAR="$h2o_dir/h2o.jar"
# Debian packages the tests run for real, installed once (as root): the `postgres` connector and
# writer's PostgreSQL 15 (tests/postgres.rs, runtime/tests/postgres.rs start servers) and the
# Prometheus Pushgateway the `pushgateway` metrics emitter pushes to (tests/metrics.rs).
missing=()
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then missing+=(postgresql-15); pg_bin=/usr/lib/postgresql/15/bin; fi
command -v prometheus-pushgateway >/dev/null || missing+=(prometheus-pushgateway)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's ${missing[*]} for the tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "error: missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
export MBT_POSTGRES_BIN="$pg_bin"
# The `s3` storage's tests run a real S3-compatible server: s3s-fs (the s3s project's server
# over a folder, SigV4 on), built once from crates.io (about 4 minutes) into the cache.
s3s_version=0.14.1  # 0.15 and later need rustc 1.96
s3s_dir="$cache/s3s-fs"
if [ "$(cat "$s3s_dir/version" 2>/dev/null || true)" != "$s3s_version" ]; then
  echo "==> building s3s-fs $s3s_version into $s3s_dir"
  rm -rf "$s3s_dir"
  CARGO_TARGET_DIR="$s3s_dir/build" cargo install --quiet --locked s3s-fs \
    --version "$s3s_version" --features binary --root "$s3s_dir"
  rm -rf "$s3s_dir/build"
  echo "$s3s_version" > "$s3s_dir/version"
fi
export MBT_S3_SERVER="$s3s_dir/bin/s3s-fs"
export MBT_PUSHGATEWAY="$(command -v prometheus-pushgateway)"
# `mbt generate-dags`' DAG files are loaded and run by real Airflow (tests/airflow.rs); the first
# install takes about 6 minutes and 300 MB.
ensure_venv "$cache/venv-airflow" scripts/requirements/airflow.txt
export MBT_AIRFLOW_PYTHON="$cache/venv-airflow/bin/python"

# Tests bake their checkout's path in at compile time (`env!("CARGO_MANIFEST_DIR")`, insta's
# snapshot paths), and cargo's freshness check compares mtimes only: with a target dir shared
# by several checkouts, returning to an older one would run tests built for another tree.
# Touching the sources when the checkout changes makes cargo rebuild the workspace crates.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  mkdir -p "$CARGO_TARGET_DIR"
  stamp="$CARGO_TARGET_DIR/.mbt-checkout"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$PWD" ]; then
    git ls-files -z -- '*.rs' | xargs -0 touch
    echo "$PWD" > "$stamp"
  fi
fi

echo "==> cargo test --workspace"
# The pre-commit install test runs alone afterwards, so its printed install time is not
# measured on a machine busy with the other tests.
cargo test --workspace -- --skip mbt_check_hook_installs_from_a_clone
echo "==> pre-commit try-repo mbt-check (installs the hook from a clone; prints the time)"
cargo test --test pre_commit mbt_check_hook_installs_from_a_clone -- --nocapture

echo "==> unlocked resolution: bash scripts/check-unlocked.sh"
bash scripts/check-unlocked.sh

echo "==> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cargo fmt --all -- --check"
cargo fmt --all -- --check

# VS Code extension (editors/vscode): npm ci, typecheck, unit tests (with the real mbt built by
# cargo test above, and headless Chromium rendering the DAG view), esbuild bundle, vsce package
# to editors/vscode/mbt-<version>.vsix. Node and Chromium are required: a missing tool fails.
echo "==> VS Code extension: bash editors/vscode/scripts/ci.sh"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian's chromium for the DAG view test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "error: chromium is not installed (Debian: sudo apt-get install chromium)" >&2
    exit 1
  fi
fi
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$(pwd)/$target_dir" ;; esac
MBT_BIN="$target_dir/debug/mbt" MBT_REQUIRE_BROWSER=1 bash editors/vscode/scripts/ci.sh
