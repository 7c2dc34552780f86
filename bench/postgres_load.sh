#!/usr/bin/env bash
# Benchmark (issue 13): load 1,000,000 rows from PostgreSQL into a training pipeline (`mbt exec
# --step load_data` on a `postgres` target: binary COPY into polars, the step's Parquet output
# stored) against pandas `read_sql_table` through SQLAlchemy + psycopg2 on the same table, each
# in its own process: wall time and peak RSS, best of 3. A temporary PostgreSQL cluster on
# 127.0.0.1 holds the example's telco rows repeated to a million. Prints a table and writes it to
# ~/.cache/mbt/bench/postgres_load/results.csv.
#
# Environment:
#   MBT_BIN            an mbt binary instead of a release build
#   MBT_POSTGRES_BIN   PostgreSQL's programs (default: the newest /usr/lib/postgresql/*/bin)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/venv.sh
venv="$HOME/.cache/mbt/venv-bench-pg"
ensure_venv "$venv" bench/postgres_load/requirements.txt
pg_bin="${MBT_POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
if [ -n "${MBT_BIN:-}" ]; then
    MBT="$MBT_BIN"
else
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mbt/target}"
    cargo build --release --bin mbt >&2
    MBT="$CARGO_TARGET_DIR/release/mbt"
fi
exec "$venv/bin/python" bench/postgres_load/run.py --mbt "$MBT" --python "$venv/bin/python" \
    --postgres-bin "$pg_bin" "$@"
