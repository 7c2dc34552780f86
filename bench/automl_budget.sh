#!/usr/bin/env bash
# Benchmark automl's time budget on a table large for it: `framework: automl` on the synthetic
# 1,000,000-row churn table of bench/train_vs_sklearn (800,000 training rows after evaluate's
# split) at max_runtime_secs 1, 2, 3, 5 and 10. Prints, per budget, train_model's wall time and
# its ratio to the budget (issue 11 asks for at most 1.10), the rows automl cross-validated
# (it searches a sample when the budget is short for the table), the candidates it evaluated,
# the test ROC AUC and the peak RSS of the run.
#
# Usage: bench/automl_budget.sh [--rows N] [--budgets 1,2,3,5,10] [--out CSV]
# Environment:
#   MBT_BIN           an mbt binary to use instead of building one in release
#   CARGO_TARGET_DIR  where cargo builds (default ~/.cache/mbt/target)
#
# The table is cached under ~/.cache/mbt/bench/ (shared with bench/train_vs_sklearn.sh), the
# project under ~/.cache/mbt/bench/automl_budget/. A budget is wall time: run it on an idle
# machine. Nothing here fails on the figures, only if a run fails.
set -euo pipefail

ROWS=1000000
BUDGETS=1,2,3,5,10
OUT=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --budgets) BUDGETS="$2"; shift 2 ;;
        --out) OUT=(--out "$2"); shift 2 ;;
        *) echo "usage: bench/automl_budget.sh [--rows N] [--budgets 1,2,3,5,10] [--out CSV]" >&2; exit 2 ;;
    esac
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# numpy and pandas for the table's generator: bench/automl's venv.
source scripts/venv.sh
ensure_venv "$HOME/.cache/mbt/venv-bench-automl" bench/automl/requirements.txt >&2
PYTHON="$HOME/.cache/mbt/venv-bench-automl/bin/python"

if [ -n "${MBT_BIN:-}" ]; then
    MBT="$MBT_BIN"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mbt/target}"
    echo "== cargo build --release --bin mbt (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
    cargo build --release --bin mbt >&2
    MBT="$CARGO_TARGET_DIR/release/mbt"
fi

DATA="$("$PYTHON" bench/train_vs_sklearn/generate_data.py --rows "$ROWS" --seed 7)"
python3 bench/automl_budget/run.py --mbt "$MBT" --data "$DATA" --budgets "$BUDGETS" "${OUT[@]}"
