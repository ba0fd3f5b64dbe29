#!/usr/bin/env bash
# Starts code-server (VS Code 1.100) with the Infill .vsix installed and settings pointing at
# the server and model under test, then drives it with vscode.js.
# Usage: bash vscode.sh CODE_SERVER_DIR VSIX   (env INFILL_SERVER, INFILL_MODEL, OUT_DIR)
set -uo pipefail
CS_DIR=$1; VSIX=$2
HERE=$(cd "$(dirname "$0")" && pwd)
CS=$CS_DIR/node_modules/.bin/code-server
T=$(mktemp -d)
PORT=${INFILL_CS_PORT:-$((20000 + RANDOM % 20000))}
mkdir -p "$T/data/User" "$T/work"
# No telemetry, updates, trust prompt or chat panel; settings.json (edited by the test)
# without auto-closing brackets. The test sets no time limits on
# the model: it checks the client, and CI's two cores also run Chromium and VS Code.
cat > "$T/data/User/settings.json" <<JSON
{
  "security.workspace.trust.enabled": false, "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false, "extensions.autoCheckUpdates": false, "update.mode": "none",
  "chat.disableAIFeatures": true, "workbench.tips.enabled": false,
  "[jsonc]": { "editor.autoClosingBrackets": "never", "editor.autoClosingQuotes": "never", "editor.autoIndent": "none" },
  "infill.serverPath": "$INFILL_SERVER", "infill.model": "$INFILL_MODEL",
  "infill.timeBudgetMs": 0, "infill.timeLimitMs": 0, "infill.maxTokens": 24, "infill.confidence": "off", "infill.logLevel": "debug"
}
JSON
printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$PORT" > "$T/cs.yaml"
ARGS=(--config "$T/cs.yaml" --user-data-dir "$T/data" --extensions-dir "$T/ext")
timeout 120 "$CS" "${ARGS[@]}" --install-extension "$VSIX" >&2 || { echo "not ok - vscode: install the .vsix"; exit 1; }
echo "ok - vscode: the .vsix installs into VS Code $("$CS" --version 2>/dev/null | tail -1 | cut -d' ' -f1)"
# Own process group: code-server forks watchers and extension hosts, all killed together.
# HF_HOME: no default model downloaded earlier on this machine (the test clears the model).
HF_HOME=$T/hf setsid "$CS" "${ARGS[@]}" --disable-telemetry --disable-update-check --disable-workspace-trust \
  --disable-getting-started-override > "$OUT_DIR/code-server.log" 2>&1 < /dev/null &
CSPID=$!
for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
NODE_PATH="$CS_DIR/node_modules" SETTINGS="$T/data/User/settings.json" CS_URL="http://127.0.0.1:$PORT/?folder=$T/work" WORK="$T/work" \
  timeout 300 node "$HERE/vscode.js"
rc=$?
kill -- -"$CSPID" 2>/dev/null; wait "$CSPID" 2>/dev/null
# The extension's log (server stderr included) for failures.
find "$T/data/logs" -name '*Infill*' -exec cp {} "$OUT_DIR/" \; 2>/dev/null
rm -rf "$T"
exit $rc
