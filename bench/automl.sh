#!/usr/bin/env bash
# Benchmark MBT's automl (issue 11): bench/automl/run.py on 19 real tables (11 binary, 4
# multiclass, 4 regression; bench/automl/README.md gives each one's source), each split 80/20
# with a fixed seed. MBT automl at 20 s and 60 s budgets and H2O AutoML at 20 s and 60 s (through
# MBT's `h2o_automl`, a local H2O-3 node with 2 threads) are trained with `mbt run` and scored by
# a serving pipeline on the held-out rows; FLAML at 20 s and 60 s, LightGBM's and scikit-learn's
# defaults train on the same split. Prints the table and the done-when checks, and writes the
# table to ~/.cache/mbt/bench/automl/results.csv. Takes 1.5-2 hours (the budgets add up).
#
# Usage: bench/automl.sh [--datasets a,b] [--systems automl20,h2o60,flaml20,lightgbm,sklearn]
#                        [--seed N[,N...]] [--out CSV] [--prepare-only]
#        bench/automl.sh --summary-only CSV   (the table and checks of an earlier run)
#   automl<N>, h2o<N> and flaml<N> take a budget of N seconds (automl5,flaml5 for a smoke test);
#   several --seed values run every system on each split, and the checks compare each table's
#   mean over them; --prepare-only writes the generated projects and runs `mbt check` on each.
# Environment:
#   MBT_BIN       an mbt binary instead of a release build (a debug build runs fewer candidates
#                 within a budget: its figures understate automl)
#   MBT_H2O_JAR   H2O-3's h2o.jar (scripts/test.sh caches it in ~/.cache/mbt/h2o); without it
#                 the H2O rows are skipped
#   MBT_BENCH_PYTHON  an interpreter with bench/automl/requirements.txt (default: a venv of it in
#                 ~/.cache/mbt/venv-bench-automl, made on first use)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -n "${MBT_BENCH_PYTHON:-}" ]; then
    PYTHON="$MBT_BENCH_PYTHON"
else
    source scripts/venv.sh
    ensure_venv "$HOME/.cache/mbt/venv-bench-automl" bench/automl/requirements.txt >&2
    PYTHON="$HOME/.cache/mbt/venv-bench-automl/bin/python"
fi
# Re-reading a results CSV needs no mbt.
for arg in "$@"; do
    if [ "$arg" = --summary-only ] || [ "$arg" = -h ] || [ "$arg" = --help ]; then
        exec "$PYTHON" bench/automl/run.py "$@"
    fi
done
if [ -n "${MBT_BIN:-}" ]; then
    MBT="$MBT_BIN"
else
    # Its own target directory: a release build there does not evict the debug one.
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mbt/target-release}"
    cargo build --release --bin mbt >&2
    MBT="$CARGO_TARGET_DIR/release/mbt"
fi
export MBT_H2O_JAR="${MBT_H2O_JAR:-$HOME/.cache/mbt/h2o/h2o.jar}"
[ -f "$MBT_H2O_JAR" ] || unset MBT_H2O_JAR
exec "$PYTHON" bench/automl/run.py --mbt "$MBT" "$@"
