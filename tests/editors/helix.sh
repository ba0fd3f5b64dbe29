#!/usr/bin/env bash
# Helix 25.01 in tmux with editors/helix/languages.toml (pointed at the server and model
# under test): the completion popup shows Infill's item, accepting it writes the
# suggestion into the saved file, and the default servers are still configured.
# Usage: bash helix.sh HX   (env INFILL_SERVER, INFILL_MODEL). Prints ok / not ok lines.
set -uo pipefail
HX=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d); S=infill-hx-$$
trap 'tmux kill-session -t $S 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/config/helix" "$T/work"
ok() { echo "ok - helix: $*"; }
fail() { echo "not ok - helix: $*"; }
# The shipped file, with the binary and model under test (and no time limits: this checks the client).
sed -e "s|^command = \"infill-ls\"|command = \"$INFILL_SERVER\"|" \
    -e "s|^# model = .*|model = \"$INFILL_MODEL\"\ntimeLimitMs = 0\ntimeBudgetMs = 0\nconfidence = \"off\"|" \
    -e "s|^maxTokens = .*|maxTokens = 24|" \
    "$ROOT/editors/helix/languages.toml" > "$T/config/helix/languages.toml"
grep -q "^model = \"$INFILL_MODEL\"" "$T/config/helix/languages.toml" || fail "languages.toml has no model placeholder"
export XDG_CONFIG_HOME=$T/config XDG_CACHE_HOME=$T/cache

health() { "$HX" --health "$1" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'; }
# Each language the shipped file lists, with the commands of Helix 25.01's own servers for it.
for lang in rust python javascript jsx typescript tsx go java c cpp c-sharp php ruby bash; do
  report=$(health $lang)
  case $lang in
    rust) defaults="rust-analyzer" ;;
    python) defaults="ruff jedi-language-server pylsp" ;;
    javascript | jsx | typescript | tsx) defaults="typescript-language-server" ;;
    go) defaults="gopls golangci-lint-langserver" ;;
    java) defaults="jdtls" ;;
    c | cpp) defaults="clangd" ;;
    c-sharp) defaults="OmniSharp" ;;
    php) defaults="intelephense" ;;
    ruby) defaults="solargraph" ;;
    bash) defaults="bash-language-server" ;;
  esac
  missing=""
  for server in $defaults "$INFILL_SERVER"; do
    grep -qF " $server" <<<"$report" || grep -qF "$server:" <<<"$report" || missing="$missing $server"
  done
  if [ -z "$missing" ]; then ok "$lang lists its default servers ($defaults) and Infill"
  else fail "$lang: missing$missing in hx --health: $report"; fi
done

printf 'def greet(name):\n    """Return a friendly greeting for name."""\n    \n' > "$T/work/greet.py"
tmux new-session -d -s "$S" -x 100 -y 20 -c "$T/work" "$HX greet.py"
screen() { tmux capture-pane -p -t "$S"; }
wait_for() {   # wait_for PATTERN [TRIES of 0.2 s]
  local i=0
  while [ $i -lt "${2:-50}" ]; do screen | grep -qE "$1" && return 0; sleep 0.2; i=$((i + 1)); done
  return 1
}
wait_for 'greet\.py' || { fail "hx did not start: $(screen)"; exit 1; }
# Helix writes the server's stderr to its log: wait until the model is loaded.
for _ in $(seq 300); do grep -q 'loaded model=' "$T/cache/helix/helix.log" 2>/dev/null && break; sleep 0.2; done
tmux send-keys -t "$S" j j A
tmux send-keys -t "$S" -l 'return '
# The popup: a row below line 3 ending in the item's kind ("text"). Helix asks by
# itself once typing pauses; C-x asks again if it did not.
popup=''
for _ in $(seq 30); do
  if wait_for ' text *$' 5; then popup=$(screen | grep -E ' text *$' | head -1); break; fi
  tmux send-keys -t "$S" C-x
done
if [ -z "$popup" ]; then fail "no completion popup: $(screen)"; exit 1; fi
label=$(sed -E 's/^ *~? *//; s/ +text *$//; s/…$//' <<<"$popup")
tmux send-keys -t "$S" Tab
# the item's detail ("Infill") shows beside the menu once the item is selected
if wait_for 'Infill' 15; then ok "the completion popup shows Infill's item: \"$label\""
else fail "popup row \"$label\" without Infill's detail: $(screen)"; fi
tmux send-keys -t "$S" Enter; sleep 0.3
tmux send-keys -t "$S" Escape; sleep 0.2
tmux send-keys -t "$S" ':wq' Enter
for _ in $(seq 25); do tmux has-session -t "$S" 2>/dev/null || break; sleep 0.2; done
line=$(sed -n 3p "$T/work/greet.py")
if [ "$line" = "    return $label" ]; then ok "accepting the item writes it into the saved file: \"$line\""
else fail "line 3 is \"$line\", the popup showed \"$label\""; fi
