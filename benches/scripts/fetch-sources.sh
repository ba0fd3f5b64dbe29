#!/usr/bin/env bash
# Fetches real code no one here wrote, per language, from the package registries, for
# the typing replay and the prompt-building benchmark; cached outside git. Prints the
# folder holding the sources of LANGUAGE on stdout.
#   fetch-sources.sh LANGUAGE   (javascript, typescript, tsx, go, java, c, cpp, csharp,
#                                php, ruby, bash)
#   INFILL_CACHE_DIR  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/infill)
#
# javascript  lodash 4.17.21 (npm)                      lodash.js
# typescript  zod 4.1.12 (npm)                          src/v3/*.ts, src/v4/core/*.ts
# tsx         react-aria-components 1.13.0 (npm)        src/*.tsx
# go          golang-1.19-src (Debian bookworm)         the standard library
# java        openjdk-17 sources (Debian bookworm)      java.base/java/util
# c           libsqlite3-sys 0.30.1, libz-sys 1.1.20    SQLite's amalgamation, zlib
#             (crates.io)
# csharp      pythonnet 3.0.5 (PyPI sdist)              its .NET runtime, src/runtime/*.cs
# php         libphp-phpmailer, php-symfony-console     PHPMailer, Symfony's console
#             (Debian bookworm)
# ruby        libruby3.1 (Debian bookworm)              Ruby's standard library (net/http, optparse...)
# bash        bash-completion (Debian bookworm)         the completion library and completions
# cpp         llama-cpp-python 0.3.36 (PyPI sdist)      llama.cpp's server, vocabulary, sampler
#             node-addon-api 8.3.1 (npm)                napi-inl.h (saved as .hpp: `.h` reads as C)
set -euo pipefail
language="${1:?usage: fetch-sources.sh LANGUAGE}"
# shellcheck source=../../model/scripts/model-cache.sh
source "$(dirname "$0")/../../model/scripts/model-cache.sh"
cached_in sources "$language"
mkdir -p "$work/out"

npm_package() { # NAME VERSION: the package's tarball unpacked into $work/package
  local base="${1##*/}"
  curl -fsSL --retry 3 "https://registry.npmjs.org/$1/-/$base-$2.tgz" | tar xz -C "$work"
}

debian_package() { # NAME: the .deb unpacked into $work/deb (apt's index; updated when it lacks NAME)
  (cd "$work" && { apt-get download "$1" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get download "$1" >/dev/null; }; })
  dpkg-deb -x "$work"/"$1"_*.deb "$work/deb"
}

case "$language" in
  javascript)
    npm_package lodash 4.17.21
    cp "$work/package/lodash.js" "$work/out/"
    ;;
  typescript)
    npm_package zod 4.1.12
    cp "$work"/package/src/v3/types.ts "$work/out/"
    cp "$work"/package/src/v4/core/{schemas,util,checks,errors}.ts "$work/out/"
    ;;
  tsx)
    npm_package react-aria-components 1.13.0
    cp "$work"/package/src/*.tsx "$work/out/"
    ;;
  go)
    debian_package golang-1.19-src
    src="$work/deb/usr/share/go-1.19/src"
    for f in runtime/proc.go strings/strings.go sort/sort.go bufio/bufio.go net/url/url.go text/tabwriter/tabwriter.go; do
      cp "$src/$f" "$work/out/$(echo "$f" | tr / _)"
    done
    ;;
  java)
    zip=""
    for candidate in /usr/lib/jvm/*17*/lib/src.zip; do
      if [ -f "$candidate" ]; then zip="$candidate" && break; fi
    done
    if [ -z "$zip" ]; then
      debian_package openjdk-17-source
      zip=$(ls "$work"/deb/usr/lib/jvm/*/lib/src.zip | head -1)
    fi
    for f in ConcurrentHashMap.java ArrayList.java HashMap.java ArrayDeque.java Collections.java; do
      case "$f" in ConcurrentHashMap.java) path="java.base/java/util/concurrent/$f" ;; *) path="java.base/java/util/$f" ;; esac
      python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
        "$zip" "$path" >"$work/out/$f"
    done
    ;;
  c)
    curl -fsSL --retry 3 "https://static.crates.io/crates/libsqlite3-sys/libsqlite3-sys-0.30.1.crate" | tar xz -C "$work"
    cp "$work"/libsqlite3-sys-0.30.1/sqlite3/sqlite3.c "$work/out/"
    curl -fsSL --retry 3 "https://static.crates.io/crates/libz-sys/libz-sys-1.1.20.crate" | tar xz -C "$work"
    cp "$work"/libz-sys-1.1.20/src/zlib/{deflate,inflate,trees,gzlib,gzwrite}.c "$work/out/"
    ;;
  cpp)
    python3 -m pip download --quiet --no-binary :all: --no-deps --disable-pip-version-check -d "$work" \
      "llama-cpp-python==0.3.36" >&2
    tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
    llama="$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)"
    cp "$llama/tools/server/server-context.cpp" "$llama"/src/llama-{vocab,sampler,grammar}.cpp "$work/out/"
    npm_package node-addon-api 8.3.1
    cp "$work/package/napi-inl.h" "$work/out/napi-inl.hpp"
    ;;
  csharp)
    python3 -m pip download --quiet --no-binary :all: --no-deps --disable-pip-version-check -d "$work" \
      "pythonnet==3.0.5" >&2
    tar -xzf "$work"/pythonnet-*.tar.gz -C "$work"
    for f in "$work"/pythonnet-*/src/runtime/*.cs "$work"/pythonnet-*/src/runtime/*/*.cs; do
      cp "$f" "$work/out/$(basename "$(dirname "$f")")_$(basename "$f")"
    done
    ;;
  php)
    debian_package libphp-phpmailer
    debian_package php-symfony-console
    cp "$work"/deb/usr/share/php/libphp-phpmailer/src/{PHPMailer,SMTP,POP3}.php "$work/out/"
    console="$work/deb/usr/share/php/Symfony/Component/Console"
    cp "$console"/Application.php "$console"/Command/Command.php "$console"/Helper/{Table,ProgressBar}.php "$work/out/"
    ;;
  ruby)
    debian_package libruby3.1
    lib=$(echo "$work"/deb/usr/lib/ruby/3.1.0)
    for f in net/http.rb optparse.rb set.rb ostruct.rb time.rb uri/generic.rb tempfile.rb pstore.rb; do
      cp "$lib/$f" "$work/out/$(echo "$f" | tr / _)"
    done
    ;;
  bash)
    debian_package bash-completion
    cp "$work/deb/usr/share/bash-completion/bash_completion" "$work/out/bash_completion.sh"
    # Many completions are one file under several names (lvm's for each of its
    # commands): each content once.
    declare -A seen=()
    for f in "$work"/deb/usr/share/bash-completion/completions/{_*,*}; do
      if [ -f "$f" ] && [ "$(wc -l <"$f")" -gt 150 ] && head -c 200 "$f" | grep -q 'bash'; then
        sum=$(sha256sum <"$f" | cut -c1-16)
        if [ -z "${seen[$sum]:-}" ]; then
          seen[$sum]=1
          cp "$f" "$work/out/$(basename "$f").sh"
        fi
      fi
    done
    ;;
  *)
    echo "fetch-sources: no sources for \`$language\`" >&2
    exit 2
    ;;
esac
mv "$work/out" "$target"
echo "$target"
