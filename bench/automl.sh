#!/usr/bin/env bash
# Benchmark MBT's automl: bench/automl/run.py on the real tables of ../shared/data (3 binary,
# 2 regression), each split 80/20 with a fixed seed: MBT automl at 20 s and 60 s budgets and H2O
# AutoML at 60 s (through MBT's `h2o_automl`, a local H2O-3 node with 2 threads) trained with
# `mbt run` and scored by a serving pipeline on the held-out rows, against scikit-learn defaults
# on the same split. Prints the table and writes it to ~/.cache/mbt/bench/automl/results.csv.
#
# Usage: bench/automl.sh [--datasets a,b] [--systems automl20,automl60,h2o60,sklearn] [--seed N]
# Environment:
#   MBT_BIN       an mbt binary instead of a release build (a debug build runs fewer candidates
#                 within a budget: its figures understate automl)
#   MBT_H2O_JAR   H2O-3's h2o.jar (scripts/test.sh caches it in ~/.cache/mbt/h2o); without it
#                 the H2O rows are skipped
#   MBT_BENCH_PYTHON  an interpreter with pandas and scikit-learn (default: the test venv)
#
# This is the first part of issue 11's benchmark: FLAML, LightGBM and the tables bundled in
# registry packages (16 datasets) are still to come.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${MBT_BENCH_PYTHON:-$HOME/.cache/mbt/venv-python/bin/python}"
if [ ! -x "$PYTHON" ]; then
    source scripts/venv.sh
    ensure_venv "$HOME/.cache/mbt/venv-python" scripts/requirements/python-bridge.txt
fi
if [ -n "${MBT_BIN:-}" ]; then
    MBT="$MBT_BIN"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mbt/target}"
    cargo build --release --bin mbt >&2
    MBT="$CARGO_TARGET_DIR/release/mbt"
fi
export MBT_H2O_JAR="${MBT_H2O_JAR:-$HOME/.cache/mbt/h2o/h2o.jar}"
[ -f "$MBT_H2O_JAR" ] || unset MBT_H2O_JAR
exec "$PYTHON" bench/automl/run.py --mbt "$MBT" "$@"
