#!/usr/bin/env bash
# Benchmark `mbt check` on a generated project of N pipelines (default 1000): cold CLI wall
# time (release build), then the in-process benchmark (cold and incremental, with salsa query
# counts): `cargo bench -p mbt-compiler --bench check`.
#
# Usage: bench/check_cli.sh [N] [RUNS]
#   N     derived pipelines to generate (default 1000)
#   RUNS  timed CLI runs after one warm-up run (default 10)
# Environment: SKIP_CARGO_BENCH=1 skips the in-process benchmark.
#
# Targets (issues): cold `mbt check` on 1,000 pipelines <= 0.3 s on a 2-core machine; with the
# data catalog at most 20% more than without. Nothing here fails on speed; it fails only if the
# build fails or a project does not check without errors.
set -euo pipefail

N="${1:-1000}"
RUNS="${2:-10}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "== cargo build --release" >&2
cargo build --release --no-default-features --bin mbt >&2
MBT="${CARGO_TARGET_DIR:-$ROOT/target}/release/mbt"

# The same project without data (column checks skipped: one warning) and with its tables in
# sample_data/ (every column reference checked against the catalog; the first, warm-up run
# writes target/catalog.json, which the timed runs read and find fresh).
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mbt-bench-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
for variant in plain data; do
    flag=()
    [ "$variant" = data ] && flag=(--data)
    DIR="$WORK/$variant"
    python3 "$ROOT/bench/generate_project.py" "$DIR" "$N" "${flag[@]}"
    echo "== generated $N pipelines in $DIR ($(find "$DIR" -type f | wc -l) files, $(cat "$DIR"/pipelines/*.yaml | wc -l) pipeline lines)" >&2
    # The project must check without errors.
    if ! "$MBT" check --project-dir "$DIR" --color never >"$WORK/out" 2>&1; then
        cat "$WORK/out" >&2
        echo "error: the generated project ($variant) does not check clean" >&2
        exit 1
    fi
    tail -n 1 "$WORK/out" >&2
done

# One warm-up run (page cache), then RUNS timed runs of each variant.
python3 - "$MBT" "$WORK" "$RUNS" <<'PY'
import os
import resource
import statistics
import subprocess
import sys
import time

mbt, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])


def run(command):
    """Wall time and CPU time (user + sys of the child) of one run, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"error: `{' '.join(command)}` exited with {done.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


rows = []
for variant, label in [("plain", "no data (columns not checked)"), ("data", "with the data catalog")]:
    command = [mbt, "check", "--project-dir", os.path.join(work, variant), "--color", "never"]
    run(command)  # warm-up: page cache (and, with data, the cached catalog), not counted
    samples = [run(command) for _ in range(runs)]
    rows.append((label, [w * 1000 for w, _ in samples], [c * 1000 for _, c in samples]))
load = os.getloadavg()[0]
print()
print(f"`mbt check` on {work}/{{plain,data}} (release CLI, fresh process each run; load average {load:.2f})")
print()
print("| project | runs | wall median ms | wall min ms | wall max ms | CPU median ms |")
print("|---|---:|---:|---:|---:|---:|")
for label, wall, cpu in rows:
    print(
        f"| {label} | {runs} | {statistics.median(wall):.1f} | {min(wall):.1f} | {max(wall):.1f} | {statistics.median(cpu):.1f} |"
    )
base, with_data = statistics.median(rows[0][1]), statistics.median(rows[1][1])
fastest = min(rows[0][1]), min(rows[1][1])
print()
# Medians move with a shared machine's load; the fastest runs show the work itself.
print(
    f"catalog overhead: {100 * (with_data / base - 1):+.1f}% median wall, "
    f"{100 * (fastest[1] / fastest[0] - 1):+.1f}% fastest run (target: at most +20%)"
)
print()
PY

if [ "${SKIP_CARGO_BENCH:-0}" != "1" ]; then
    echo "== cargo bench -p mbt-compiler --bench check" >&2
    MBT_BENCH_PIPELINES="$N" cargo bench -p mbt-compiler --bench check
fi
