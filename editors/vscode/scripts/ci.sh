#!/usr/bin/env bash
# Builds and checks the VS Code extension offline-friendly (npm registry or ~/.npm cache only):
# npm ci, copy schemas and Mermaid, typecheck, unit tests, esbuild bundle, vsce package, and a
# check of the .vsix contents. Set MBT_BIN to an mbt binary to also run the real-CLI tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version="$(node -p 'require("./package.json").version')"
vsix="mbt-$version.vsix"
echo "==> node $(node --version), npm $(npm --version)"

echo "==> npm ci"
npm ci --no-audit --no-fund --prefer-offline --loglevel=error

echo "==> copy schemas and mermaid into the extension"
npm run --silent copy-assets
npm run --silent check-assets

echo "==> tsc --noEmit"
npm run --silent typecheck

echo "==> unit tests (node:test)"
npm run --silent test

echo "==> esbuild bundle"
rm -rf dist
npm run --silent bundle -- --log-level=warning

echo "==> vsce package"
rm -f "$vsix"
# No stdin: vsce must never wait on a prompt.
npx --no-install vsce package --no-dependencies --out "$vsix" </dev/null

echo "==> check $vsix"
if command -v unzip >/dev/null; then unzip -l "$vsix"; fi
python3 - "$vsix" ../../schemas <<'PY'
import os, sys, zipfile
vsix, schemas = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(vsix) as archive:
    names = set(archive.namelist())
    required = ["extension/package.json", "extension/dist/extension.js", "extension/media/mermaid.min.js",
                "extension/syntaxes/mbt-yaml.tmLanguage.json", "extension/language-configuration.json"]
    problems = [f"missing {name}" for name in required if name not in names]
    for schema in sorted(os.listdir(schemas)):
        if not schema.endswith(".schema.json"):
            continue
        name = f"extension/schemas/{schema}"
        if name not in names:
            problems.append(f"missing {name}")
        elif archive.read(name) != open(os.path.join(schemas, schema), "rb").read():
            problems.append(f"{name} differs from schemas/{schema}")
    unexpected = [name for name in names if "node_modules/" in name or name.startswith("extension/src/") or name.startswith("extension/test/")]
    problems += [f"unexpected {name}" for name in unexpected]
if problems:
    sys.exit("vsix check failed:\n  " + "\n  ".join(problems))
print(f"vsix ok: {len(names)} files, {os.path.getsize(vsix) / 1e6:.2f} MB")
PY
