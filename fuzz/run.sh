#!/usr/bin/env bash
# Runs fuzz targets with libFuzzer (cargo-fuzz on nightly, both installed into
# ~/.cache/infill/tools when missing).
#
#   bash fuzz/run.sh SECONDS [TARGET...]     each target for SECONDS (all when none named)
#   FUZZ_RUNS=1000000 bash fuzz/run.sh 0 framing   a number of executions instead
#   FUZZ_JOBS=2 ...                          parallel workers per target
#
# Each target starts from the committed seeds (fuzz/corpus/TARGET, never written to) and
# a working corpus kept outside the clone (~/.cache/infill/fuzz-corpus/TARGET). A crash
# stops the run with its input in fuzz/artifacts/TARGET/: add it to fuzz/corpus/TARGET as
# `crash-<what it found>` with a test named after it, then fix. Prints each target's
# executions and speed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(framing documents lsp_session gguf tokenizer prompt)

tools=${XDG_CACHE_HOME:-$HOME/.cache}/infill/tools
export PATH="$tools/bin:$HOME/.cargo/bin:$PATH"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked --version 0.13.2 --root "$tools"
fi
export INFILL_TEST_MODEL=${INFILL_TEST_MODEL:-$(bash model/scripts/fetch-test-model.sh)}

cargo +nightly fuzz build -O
work=${XDG_CACHE_HOME:-$HOME/.cache}/infill/fuzz-corpus
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    # GGUF seeds are whole tiny models (tens of KiB); everything else stays small.
    max_len=${FUZZ_MAX_LEN:-8192}
    [ "$target" != gguf ] || max_len=${FUZZ_MAX_LEN:-131072}
    limit=(-max_total_time="$seconds")
    [ -z "${FUZZ_RUNS:-}" ] || limit=(-runs="$FUZZ_RUNS")
    jobs=()
    [ -z "${FUZZ_JOBS:-}" ] || jobs=(-fork="$FUZZ_JOBS")
    log=$(mktemp)
    start=$(date +%s)
    # -rss_limit_mb: a run that needs more than 2 GiB is a bug (a length taken on trust).
    if ! cargo +nightly fuzz run -O "$target" "$work/$target" "fuzz/corpus/$target" -- \
        "${limit[@]}" "${jobs[@]}" -max_len="$max_len" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -60 "$log"
        echo "fuzz: $target FAILED (input in fuzz/artifacts/$target/)"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | awk '{s+=$1} END {print s+0}')
    [ "$runs" != 0 ] || runs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
    elapsed=$(( $(date +%s) - start ))
    echo "fuzz: $target ok: ${runs:-?} executions in ${elapsed}s, 0 crashes"
    rm -f "$log"
done
