# Sourced by the scripts that fetch a model or other downloads kept outside git:
# `cached_in KIND NAME` sets `target` (the entry's path in the cache), prints it and
# exits when it is already there, and otherwise sets `work`, a scratch folder removed
# on exit; the caller moves its result to `target` last, so an entry is whole or absent.
# `cached_model NAME` is `cached_in models NAME`.
#   INFILL_CACHE_DIR  the cache root (default: ${XDG_CACHE_HOME:-~/.cache}/infill)
cached_in() {
  local cache="${INFILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infill}/$1"
  target="$cache/$2"
  if [ -s "$target" ]; then
    echo "$target"
    exit 0
  fi
  mkdir -p "$cache"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}

cached_model() {
  cached_in models "$1"
}
