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
# Target (issue): cold `mbt check` on 1,000 pipelines <= 0.3 s on a 2-core machine. Nothing
# here fails on speed; it fails only if the build fails or the project does not check clean.
set -euo pipefail

N="${1:-1000}"
RUNS="${2:-10}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "== cargo build --release" >&2
cargo build --release --no-default-features --bin mbt >&2
MBT="${CARGO_TARGET_DIR:-$ROOT/target}/release/mbt"

DIR="$(mktemp -d "${TMPDIR:-/tmp}/mbt-bench-XXXXXX")"
trap 'rm -rf "$DIR"' EXIT
python3 "$ROOT/bench/generate_project.py" "$DIR" "$N"
echo "== generated $N pipelines in $DIR ($(find "$DIR" -type f | wc -l) files, $(cat "$DIR"/pipelines/*.yaml | wc -l) pipeline lines)" >&2

# The project must check clean (exit 0, 0 errors).
if ! "$MBT" check --project-dir "$DIR" --color never >"$DIR.out" 2>&1; then
    cat "$DIR.out" >&2
    rm -f "$DIR.out"
    echo "error: the generated project does not check clean" >&2
    exit 1
fi
tail -n 1 "$DIR.out" >&2
rm -f "$DIR.out"

# One warm-up run (page cache), then RUNS timed runs.
python3 - "$MBT" "$DIR" "$RUNS" <<'PY'
import os
import resource
import statistics
import subprocess
import sys
import time

mbt, project, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
command = [mbt, "check", "--project-dir", project, "--color", "never"]


def run():
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


run()  # warm-up: page cache, not counted
samples = [run() for _ in range(runs)]
wall = [w * 1000 for w, _ in samples]
cpu = [c * 1000 for _, c in samples]
load = os.getloadavg()[0]
print()
print(f"`mbt check --project-dir {project}` (release CLI, fresh process each run; load average {load:.2f})")
print()
print("| measure | runs | median ms | min ms | max ms |")
print("|---|---:|---:|---:|---:|")
for name, values in [("wall time", wall), ("CPU time (user + sys)", cpu)]:
    print(
        f"| {name} | {runs} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |"
    )
print()
PY

if [ "${SKIP_CARGO_BENCH:-0}" != "1" ]; then
    echo "== cargo bench -p mbt-compiler --bench check" >&2
    MBT_BENCH_PIPELINES="$N" cargo bench -p mbt-compiler --bench check
fi
