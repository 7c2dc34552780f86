# Sourced by the scripts that need Python tools. `ensure_venv DIR REQUIREMENTS` makes DIR a
# venv holding exactly the pins of REQUIREMENTS, rebuilding it only when the pins change (the
# installed copy of the file is kept in DIR to compare).
ensure_venv() {
  local dir="$1" requirements="$2"
  if ! cmp -s "$requirements" "$dir/requirements.txt" 2>/dev/null; then
    echo "==> installing $(tr '\n' ' ' < "$requirements")into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$dir/requirements.txt"
  fi
}
