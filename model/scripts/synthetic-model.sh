#!/usr/bin/env bash
# Writes (once) a GGUF with a real code model's exact shapes and quantization mix and
# random weights, and prints its path: timings depend on shapes, not weight values.
#   synthetic-model.sh SHAPE QUANT
#   SHAPE: qwen2.5-coder-0.5b | qwen2.5-coder-1.5b | tiny-fim     QUANT: q8_0 | q4_k_m
# Needs the test model (its vocabulary is reused) and Python's `gguf` and `numpy`
# packages (installed with pip into the user site when missing). Cached in
# ${INFILL_CACHE_DIR:-~/.cache/infill}/models/synthetic, never in git.
set -euo pipefail
shape="${1:?shape}"
quant="${2:?quant}"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${INFILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infill}/models/synthetic"
# The script's hash is part of the name: a change to the generator makes new files.
version=$(sha256sum "$here/synthetic-model.py" | cut -c1-8)
target="$cache/$shape-$quant-$version.gguf"
if [ -s "$target" ]; then
  echo "$target"
  exit 0
fi
test_model=$(bash "$here/fetch-test-model.sh")
if ! python3 -c 'import gguf, numpy' 2>/dev/null; then
  echo "synthetic-model: installing the Python packages gguf and numpy" >&2
  python3 -m pip install --quiet --disable-pip-version-check --user "gguf==0.19.0" numpy >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check "gguf==0.19.0" numpy >&2
fi
mkdir -p "$cache"
python3 "$here/synthetic-model.py" "$shape" "$quant" "$target.part" --test-model "$test_model" >&2
mv "$target.part" "$target"
echo "$target"
