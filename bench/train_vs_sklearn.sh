#!/usr/bin/env bash
# Benchmark training: the MBT pipeline bench/train_vs_sklearn/pipelines/bench_gbm.yaml (load CSV,
# stratified split, standard scaling, one-hot, gbm 200 rounds, evaluate) against the same steps
# in pandas + scikit-learn (HistGradientBoostingClassifier) and in pandas + LightGBM
# (LGBMClassifier), side by side on one synthetic 1,000,000-row table. Prints wall time, peak
# RSS and ROC AUC of each side, with MBT's ratios to the other two.
#
# Usage: bench/train_vs_sklearn.sh [--rows N] [--runs N] [--seed S]
#   --rows  rows of the generated table (default 1000000; 20000 for a quick smoke run)
#   --runs  repetitions of each side, interleaved (default 3)
#   --seed  seed of the generated table (default 7)
# Environment:
#   MBT_BIN           an mbt binary to use instead of building one in release
#                     (e.g. a debug build for a smoke run; the table then says so)
#   CARGO_TARGET_DIR  where cargo builds (default ~/.cache/mbt/target)
#
# It sets up a venv at ~/.cache/mbt/venv-bench with pinned numpy, pandas, scikit-learn and
# LightGBM (from PyPI), builds `mbt` in release (half an hour on 2 cores from scratch), and caches the generated
# table under ~/.cache/mbt/bench/ by rows and seed, so reruns skip both. Both sides use every
# core; run it on an idle machine (the table prints the load average: scikit-learn's OpenMP
# threads slow down badly when other processes compete for the cores).
#
# Targets (issue 3): MBT >= 3x faster and <= 0.5x peak memory at an AUC no worse than
# scikit-learn's - 0.005. Run by hand; nothing here fails on the figures, only if a run fails.
set -euo pipefail

ROWS=1000000
RUNS=3
SEED=7
while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        *) echo "usage: bench/train_vs_sklearn.sh [--rows N] [--runs N] [--seed S]" >&2; exit 2 ;;
    esac
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench/train_vs_sklearn"
cd "$ROOT"

# Python side: a venv with pinned packages, reinstalled only when the pins change.
VENV="$HOME/.cache/mbt/venv-bench"
PINS="numpy==2.4.6 pandas==3.1.1 scipy==1.17.1 scikit-learn==1.9.1 lightgbm==4.7.0"
if [ "$(cat "$VENV/.mbt-bench-pins" 2>/dev/null)" != "$PINS" ]; then
    echo "== setting up $VENV ($PINS)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS >&2
    echo "$PINS" >"$VENV/.mbt-bench-pins"
fi
PYTHON="$VENV/bin/python"

if [ -n "${MBT_BIN:-}" ]; then
    MBT="$MBT_BIN"
    LABEL="MBT ($(basename "$(dirname "$MBT_BIN")")/$(basename "$MBT_BIN"))"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mbt/target}"
    echo "== cargo build --release --bin mbt (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
    cargo build --release --bin mbt >&2
    MBT="$CARGO_TARGET_DIR/release/mbt"
    LABEL="MBT (release)"
fi

DATA="$("$PYTHON" "$BENCH/generate_data.py" --rows "$ROWS" --seed "$SEED")"

"$PYTHON" "$BENCH/compare.py" --mbt "$MBT" --mbt-label "$LABEL" --python "$PYTHON" \
    --data "$DATA" --runs "$RUNS"
