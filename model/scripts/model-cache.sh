# Sourced by the scripts that fetch a model: `cached_model NAME` sets `target` (the
# model's path in the cache outside git), prints it and exits when it is already
# there, and otherwise sets `work`, a scratch folder removed on exit.
#   INFILL_CACHE_DIR  the cache root (default: ${XDG_CACHE_HOME:-~/.cache}/infill)
cached_model() {
  local cache="${INFILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infill}/models"
  target="$cache/$1"
  if [ -s "$target" ]; then
    echo "$target"
    exit 0
  fi
  mkdir -p "$cache"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}
