#!/usr/bin/env bash
# Benchmark of `mbt lsp` as an editor sees it: a client drives a release `mbt lsp` child
# process over stdio on a generated project (lsp/benches/lsp.rs with MBT_BENCH_SERVER), then
# the same scenarios in process (no stdio framing), for comparison.
#
# Usage: bench/lsp_client.sh [N] [RUNS]
#   N     derived pipelines to generate (default 1000)
#   RUNS  timed runs per scenario (default 20)
#
# Targets (issue 10, client side, 1,000 pipelines): first diagnostics of an opened derived
# pipeline <= 100 ms, a one-file edit <= 10 ms, a base edit to all dependents <= 150 ms.
# Nothing here fails on speed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export MBT_BENCH_PIPELINES="${1:-1000}" MBT_BENCH_RUNS="${2:-20}"
echo "== cargo build --release --no-default-features --features lsp --bin mbt" >&2
cargo build --release --no-default-features --features lsp --bin mbt >&2
MBT="${CARGO_TARGET_DIR:-$ROOT/target}/release/mbt"
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
MBT_BENCH_SERVER="$MBT" cargo bench -p mbt-lsp --bench lsp 2>/dev/null | grep -v '^$'
cargo bench -p mbt-lsp --bench lsp 2>/dev/null | grep -v '^$'
