# Shared by every PFAD script: where caches and service state live (outside the
# work tree, so a fresh clone reuses them) and small logging helpers.
# shellcheck shell=bash
PFAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PFAD_CACHE="${PFAD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pfad}"
PFAD_RUN="${PFAD_RUN:-$PFAD_CACHE/run}"
PFAD_VENV="$PFAD_CACHE/venv"
mkdir -p "$PFAD_CACHE" "$PFAD_RUN"

log()  { printf '[pfad] %s\n' "$*" >&2; }
die()  { printf '[pfad] error: %s\n' "$*" >&2; exit 1; }

# wait_until SECONDS CMD...: retry CMD every 0.2 s until it succeeds or time runs out.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}
