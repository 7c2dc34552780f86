#!/usr/bin/env bash
# Small-table training speed, where AutoML spends its time: 5-fold cross-validation of 50 gbm
# configurations (100 rounds each, 250 fits) on the first 5,000 rows of ../shared/data's
# wine_quality (11 numeric columns), MBT's gbm (runtime/examples/gbm_cv.rs, release) against
# LightGBM's Python API doing the same fits (bench/small_fits/lightgbm_cv.py), each in its own
# process, one fit after another, 2 threads each. Prints a table: system, fits, seconds,
# ms per fit, mean validation RMSE (the models should be of the same quality).
#
# Usage: bench/small_fits.sh [TABLE.csv LABEL [ROWS]]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TABLE="${1:-$ROOT/../shared/data/wine_quality.csv}"
LABEL="${2:-quality}"
ROWS="${3:-5000}"
source scripts/venv.sh
ensure_venv "$HOME/.cache/mbt/venv-bench-automl" bench/automl/requirements.txt >&2
PYTHON="$HOME/.cache/mbt/venv-bench-automl/bin/python"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mbt/target-release}"
cargo build --release -p mbt-runtime --example gbm_cv >&2
results=$(
    "$CARGO_TARGET_DIR/release/examples/gbm_cv" "$TABLE" "$LABEL" "$ROWS"
    "$PYTHON" bench/small_fits/lightgbm_cv.py "$TABLE" "$LABEL" "$ROWS"
)
"$PYTHON" - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in sys.argv[1].splitlines() if line.strip()]
print(f"{'system':<34} {'rows':>6} {'fits':>5} {'seconds':>8} {'ms/fit':>7} {'rmse':>7}")
for r in rows:
    print(f"{r['system']:<34} {r['rows']:>6} {r['fits']:>5} {r['seconds']:>8.2f} "
          f"{1000 * r['seconds'] / r['fits']:>7.1f} {r['rmse']:>7.4f}")
if len(rows) == 2:
    print(f"MBT / LightGBM time: {rows[0]['seconds'] / rows[1]['seconds']:.2f}")
PY
