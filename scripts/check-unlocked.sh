#!/usr/bin/env bash
# Checks that the workspace builds with the newest dependency versions its manifests allow:
# a copy of the tracked files without Cargo.lock, resolved afresh (as `cargo install` without
# --locked resolves), then `cargo check --workspace --all-targets`. Versions that must move
# together are pinned in Cargo.toml (salsa's three crates). Prints what moved past Cargo.lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="${MBT_CACHE:-$HOME/.cache/mbt}"
copy="$cache/unlocked/src"
rm -rf "$copy"
mkdir -p "$copy"
# tar keeps modification times, so the cached target directory rebuilds only what changed.
git ls-files -z --cached --others --exclude-standard |
  tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$copy"
rm "$copy/Cargo.lock"
(cd "$copy" && cargo generate-lockfile --quiet)
echo "versions newer than Cargo.lock:"
versions() { awk '/^name = /{n=$3} /^version = /{print n, $3}' "$1" | sort -u; }
comm -13 <(versions Cargo.lock) <(versions "$copy/Cargo.lock") | sed 's/^/  /; s/"//g'
cargo check --manifest-path "$copy/Cargo.toml" --workspace --all-targets \
  --target-dir "$cache/unlocked/target" --quiet
echo "unlocked resolution: cargo check --workspace --all-targets passed"
