#!/usr/bin/env bash
# Keystroke to ghost text on screen in real Neovim 0.12 (headless), for the built-in
# vim.lsp.inline_completion and for the plugin's own requests and extmarks, against the
# release server and the test model. Prints, per mode, for the keystrokes where the
# server has a suggestion: how many had it on screen within the 400 ms before the next
# key, and how long after the keystroke it appeared (p50, p95).
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
import statistics, sys
def load(mode):
    rows = [l.rstrip('\n').split('\t') for l in open(f'{sys.argv[1]}/{mode}.tsv') if '\t' in l]
    # ms until the screen showed the server's answer for the text; '-' not within the
    # window; 'none' the server had no suggestion there (left out)
    return [float(r[2]) if r[2] not in ('-', 'none') else None for r in rows if r[2] != 'none']
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float('nan')
res = {m: load(m) for m in ('builtin', 'extmarks')}
print(f"{'mode':<10} {'keys':>5} {'shown':>7} {'p50 ms':>8} {'p90 ms':>8} {'p95 ms':>8} {'max ms':>8} {'>50 ms':>7}")
for m, xs in res.items():
    seen = [x for x in xs if x is not None]
    slow = sum(1 for x in seen if x > 50)
    print(f"{m:<10} {len(xs):>5} {100 * len(seen) / max(1, len(xs)):>6.1f}% {pct(seen, 50):>8.1f} {pct(seen, 90):>8.1f} "
          f"{pct(seen, 95):>8.1f} {max(seen, default=float('nan')):>8.1f} {slow:>7}")
b = [x for x in res['builtin'] if x is not None]; e = [x for x in res['extmarks'] if x is not None]
if b and e:
    print(f"extmarks / builtin: p50 {pct(e, 50) / pct(b, 50):.2f}x, p95 {pct(e, 95) / pct(b, 95):.2f}x")
PY
