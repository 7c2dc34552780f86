#!/usr/bin/env bash
# One command on a fresh machine: set up Python for the example's custom functions (pandas +
# pyarrow in a cached venv), build mbt, train the plan's churn model on the example project
# (embedded defaults: local files, local artifact store, local run registry; no server), then
# score the active customers with that run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="${MBT_CACHE:-$HOME/.cache/mbt}"
source scripts/venv.sh
ensure_venv "$cache/venv-python" scripts/requirements/python-bridge.txt
export MBT_PYTHON="$cache/venv-python/bin/python"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
cargo build --bin mbt
mbt="$CARGO_TARGET_DIR/debug/mbt"
project=examples/telecom-churn

echo "==> mbt run --select churn_training_v1 --vars execution_date=2026-03-01"
"$mbt" run --select churn_training_v1 --project-dir "$project" --vars execution_date=2026-03-01

echo "==> mbt run --select churn_serving_v1   (scores with the newest training run)"
"$mbt" run --select churn_serving_v1 --project-dir "$project"
echo "==> predictions: $project/predictions/predictions.csv ($(($(wc -l < "$project/predictions/predictions.csv") - 1)) rows)"
