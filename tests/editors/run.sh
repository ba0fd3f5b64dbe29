#!/usr/bin/env bash
# The editor client tests: real VS Code (code-server + Chromium), Neovim (0.7, 0.11, 0.12)
# and Helix against the real infill-ls and the real test model. Ends with "N passed, N failed".
# Usage: bash tests/editors/run.sh [vscode|nvim|helix ...]   (default: all)
# Installs the editors first (tests/editors/install.sh, cached in ~/.cache/infill/editors).
# Screenshots go to target/editor-tests/.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/editors
ONLY=("$@"); [ ${#ONLY[@]} -eq 0 ] && ONLY=(nvim helix vscode)
wants() { [[ " ${ONLY[*]} " == *" $1 "* ]]; }

EDITORS=$(bash "$HERE/install.sh" | tail -1) || { echo "editor install failed"; echo "0 passed, 1 failed"; exit 1; }
MODEL=$(bash model/scripts/fetch-test-model.sh) || { echo "test model fetch failed"; echo "0 passed, 1 failed"; exit 1; }
cargo build --quiet --locked -p infill-server || { echo "server build failed"; echo "0 passed, 1 failed"; exit 1; }
SERVER=$ROOT/target/debug/infill-ls
export OUT_DIR=$ROOT/target/editor-tests
rm -rf "$OUT_DIR"; mkdir -p "$OUT_DIR"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
# Editors keep logs, swap files and state here, not in $HOME.
export XDG_STATE_HOME=$SCRATCH/state XDG_CACHE_HOME=$SCRATCH/cache XDG_DATA_HOME=$SCRATCH/data XDG_CONFIG_HOME=$SCRATCH/config
export INFILL_SERVER=$SERVER INFILL_MODEL=$MODEL

passed=0; failed=0
# Runs one driver; counts its "ok - " and "not ok - " lines (a driver that prints none failed).
run() {
  local name=$1; shift
  local log=$OUT_DIR/$name.log
  echo "== $name"
  "$@" > "$log.out" 2> "$log"
  local rc=$?
  cat "$log.out"
  local ok bad
  ok=$(grep -c '^ok - ' "$log.out"); bad=$(grep -c '^not ok - ' "$log.out")
  if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ] || { [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; }; then
    echo "not ok - $name: exited $rc without results"; bad=$((bad + 1))
  fi
  [ "$bad" -gt 0 ] && { echo "-- $name stderr (last 30 lines):"; tail -30 "$log"; }
  passed=$((passed + ok)); failed=$((failed + bad))
}

nvim_run() {   # nvim_run NAME NVIM SCRIPT [ENV...]
  local name=$1 nvim=$2 script=$3; shift 3
  run "$name" env "$@" NVIM_PLUGIN="$ROOT/editors/nvim" WORK="$(mktemp -d -p "$SCRATCH")" \
    timeout 120 "$nvim" --headless -u NONE -i NONE -n -c "luafile $HERE/$script"
}

if wants nvim; then
  nvim_run nvim-0.10 "$EDITORS/nvim-0.10/bin/nvim" nvim.lua
  nvim_run nvim-0.11 "$EDITORS/nvim-0.11/bin/nvim" nvim.lua
  if [ -x "$EDITORS/nvim-0.12/bin/nvim" ]; then
    nvim_run nvim-0.12 "$EDITORS/nvim-0.12/bin/nvim" nvim.lua
  else
    echo "== nvim-0.12: not installed (Debian sid did not install today), skipped"
  fi
  nvim_run nvim-0.7 /usr/bin/nvim nvim_old.lua
  nvim_run nvim-0.11-no-model "$EDITORS/nvim-0.11/bin/nvim" nvim_no_model.lua HF_HOME="$SCRATCH/hf"
fi

if wants helix; then
  run helix timeout 180 bash "$HERE/helix.sh" "$EDITORS/helix/bin/hx"
fi

if wants vscode; then
  vscode() {
    local vsix
    vsix=$(bash "$ROOT/editors/vscode/scripts/package.sh") || return 1
    bash "$HERE/vscode.sh" "$EDITORS/code-server" "$vsix"
  }
  run vscode vscode
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
