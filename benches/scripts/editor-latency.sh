#!/usr/bin/env bash
# Keystroke to ghost text on screen in real Neovim 0.12 (headless), for the built-in
# vim.lsp.inline_completion and for the plugin's own requests and extmarks, against the
# release server and the test model. Prints, per mode, for the keystrokes where the
# server has a suggestion: how many had it on screen before the next key (500 ms), and
# how long after the keystroke it appeared; for all of them and for those that needed a
# new answer (not the rest of the suggestion being typed).
# Usage: bash benches/scripts/editor-latency.sh   (installs the editors like the tests)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
EDITORS=$(bash tests/editors/install.sh | tail -1)
NVIM=$EDITORS/nvim-0.12/bin/nvim
[ -x "$NVIM" ] || { echo "Neovim 0.12 is not installed (Debian sid): nothing to measure"; exit 1; }
MODEL=$(bash model/scripts/fetch-test-model.sh)
cargo build --quiet --release --locked -p infill-server
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export XDG_STATE_HOME=$T/state XDG_CACHE_HOME=$T/cache XDG_DATA_HOME=$T/data XDG_CONFIG_HOME=$T/config
for mode in builtin extmarks; do
  mkdir -p "$T/$mode"
  MODE=$mode OUT=$T/$mode.tsv WORK=$T/$mode NVIM_PLUGIN=$ROOT/editors/nvim INFILL_SERVER=$ROOT/target/release/infill-ls \
    INFILL_MODEL=$MODEL timeout 300 "$NVIM" --headless -u NONE -i NONE -n \
    -c "luafile $ROOT/benches/editors/nvim_ghost_latency.lua" >/dev/null 2>"$T/$mode.err" || { cat "$T/$mode.err"; exit 1; }
  [ -n "${INFILL_LATENCY_LOG:-}" ] && cp "$T/$mode.tsv" "$INFILL_LATENCY_LOG.$mode.tsv"
done
python3 - "$T" <<'PY'
import sys
def load(mode):
    rows = [l.rstrip('\n').split('\t') for l in open(f'{sys.argv[1]}/{mode}.tsv') if l.count('\t') == 3]
    # keystrokes where the server has a suggestion: (ms or None, needed a new answer)
    return [(float(r[2]) if r[2] != '-' else None, r[3] == '1') for r in rows if r[2] != 'none']
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float('nan')
res = {m: load(m) for m in ('builtin', 'extmarks')}
print("keystroke -> the server's answer for the new text on screen (Neovim 0.12, headless; one key every 500 ms)")
print(f"{'mode':<10} {'keys':<11} {'n':>4} {'shown':>7} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8}")
p50 = {}
for m, rows in res.items():
    for label, sel in (('all', rows), ('new answer', [r for r in rows if r[1]])):
        seen = [x for x, _ in sel if x is not None]
        p50[(m, label)] = pct(seen, 50)
        print(f"{m:<10} {label:<11} {len(sel):>4} {100 * len(seen) / max(1, len(sel)):>6.1f}% {pct(seen, 50):>8.1f} "
              f"{pct(seen, 90):>8.1f} {max(seen, default=float('nan')):>8.1f}")
print(f"new answer p50, extmarks / builtin: {p50[('extmarks', 'new answer')] / p50[('builtin', 'new answer')]:.2f}x")
PY
