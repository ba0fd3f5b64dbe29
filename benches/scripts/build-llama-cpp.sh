#!/usr/bin/env bash
# Builds the llama.cpp peer (llama-bench, llama-server, and our llama-logits from
# model/tests/peer/llama-logits.cpp against its library) from the sources vendored in
# the PyPI source distribution of llama-cpp-python, cached outside git. Prints the
# directory holding the binaries on stdout.
#   INFILL_CACHE_DIR  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/infill)
set -euo pipefail
VERSION="0.3.36"
cache="${INFILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infill}/llama.cpp-$VERSION-noamx"
bin="$cache/build/bin"
logits_src="$(cd "$(dirname "$0")/../.." && pwd)/model/tests/peer/llama-logits.cpp"
no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
# Our llama-logits, linked against the built library (seconds); rebuilt when its source changes.
build_logits() {
  local stamp
  stamp="$bin/llama-logits.$(sha256sum "$logits_src" | cut -c1-12)"
  if [ -x "$bin/llama-logits" ] && [ -e "$stamp" ]; then
    return
  fi
  local openmp=""
  if grep -q "^GGML_OPENMP:BOOL=ON" "$cache/build/CMakeCache.txt"; then openmp="-fopenmp"; fi
  # Built under a temporary name and moved into place: test processes running at once
  # never see (or run) a half-written binary.
  local tmp="$bin/llama-logits-tmp.$$"
  # shellcheck disable=SC2086 # the flag lists split on purpose
  if ! g++ -O2 -std=c++17 $no_amx -I"$cache/src/include" -I"$cache/src/ggml/include" "$logits_src" \
    -o "$tmp" "$cache/build/src/libllama.a" "$cache/build/ggml/src/libggml.a" \
    "$cache/build/ggml/src/libggml-cpu.a" "$cache/build/ggml/src/libggml-base.a" $openmp -lpthread -ldl >&2; then
    rm -f "$tmp"
    echo "build-llama-cpp: compiling $logits_src failed" >&2
    exit 1
  fi
  mv -f "$tmp" "$bin/llama-logits"
  rm -f "$bin"/llama-logits.*
  touch "$stamp"
}
if [ -x "$bin/llama-bench" ] && [ -x "$bin/llama-server" ]; then
  build_logits
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
cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON \
  -DCMAKE_C_FLAGS="$no_amx" -DCMAKE_CXX_FLAGS="$no_amx" \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$cache/build" -j2 --target llama-bench llama-server >&2
build_logits
echo "$bin"
