#!/usr/bin/env bash
# Builds the llama.cpp peer (llama-bench, llama-server) from the sources vendored in
# the PyPI source distribution of llama-cpp-python, cached outside git. Prints the
# directory holding the binaries on stdout.
#   INFILL_CACHE_DIR  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/infill)
set -euo pipefail
VERSION="0.3.36"
cache="${INFILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infill}/llama.cpp-$VERSION-noamx"
bin="$cache/build/bin"
if [ -x "$bin/llama-bench" ] && [ -x "$bin/llama-server" ]; then
  echo "$bin"
  exit 0
fi
if ! command -v cmake >/dev/null; then
  echo "build-llama-cpp: installing cmake" >&2
  (apt-get install -y -qq cmake >&2 || (apt-get update -qq >&2 && apt-get install -y -qq cmake >&2))
fi
mkdir -p "$cache"
if [ ! -d "$cache/src" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  python3 -m pip download --quiet --no-binary :all: --no-deps --disable-pip-version-check -d "$work" "llama-cpp-python==$VERSION" >&2
  tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
  mv "$work"/llama_cpp_python-*/vendor/llama.cpp "$cache/src"
fi
# No AMX: on the Xeons of this machine kind the CPU reports AMX but the VM does not
# grant the tile state, and llama.cpp's AMX kernels crash (SIGSEGV in
# ggml_backend_amx_mul_mat). Everything else -march=native offers stays on.
no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
  -DCMAKE_C_FLAGS="$no_amx" -DCMAKE_CXX_FLAGS="$no_amx" \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$cache/build" -j2 --target llama-bench llama-server >&2
echo "$bin"
