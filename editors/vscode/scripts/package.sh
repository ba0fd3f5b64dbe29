#!/usr/bin/env bash
# Builds editors/vscode/infill.vsix (npm ci, tsc, vsce) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error >&2
npx --no-install vsce package --out infill.vsix >&2
echo "$PWD/infill.vsix"
