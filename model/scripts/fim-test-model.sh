#!/usr/bin/env bash
# Writes (once) the test model with fill-in-the-middle tokens added (see
# fim-test-model.py) and prints its path; cached beside the test model, never in git.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
test_model=$(bash "$here/fetch-test-model.sh")
version=$(sha256sum "$here/fim-test-model.py" | cut -c1-8)
target="$(dirname "$test_model")/SmolLM2-135M-fim-$version.gguf"
if [ -s "$target" ]; then
  echo "$target"
  exit 0
fi
if ! python3 -c 'import gguf, numpy' 2>/dev/null; then
  echo "fim-test-model: installing the Python packages gguf and numpy" >&2
  python3 -m pip install --quiet --disable-pip-version-check --user "gguf==0.19.0" numpy >&2 \
    || python3 -m pip install --quiet --disable-pip-version-check "gguf==0.19.0" numpy >&2
fi
python3 "$here/fim-test-model.py" "$test_model" "$target.part" >&2
mv "$target.part" "$target"
echo "$target"
