# Shared by every PFAD script: where caches and service state live (outside the
# work tree, so a fresh clone reuses them) and small logging helpers.
# shellcheck shell=bash
PFAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PFAD_CACHE="${PFAD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pfad}"
PFAD_RUN="${PFAD_RUN:-$PFAD_CACHE/run}"
PFAD_VENV="$PFAD_CACHE/venv"
mkdir -p "$PFAD_CACHE" "$PFAD_RUN"

# usage: prints the calling script's header comment (its manual).
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

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

# pid_alive PIDFILE: prints the pid recorded in PIDFILE if that process is alive.
pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }

# detach PIDFILE LOG CMD...: starts CMD in a session of its own (stdin /dev/null, stdout and
# stderr to LOG) and waits up to 10 s until PIDFILE holds its pid (the shell that records it
# execs CMD, so the pid stays CMD's). Fails when the pid never appears.
detach() {
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0"; shift; exec "$@"' "$pidfile" x "$@" >"$logfile" 2>&1 </dev/null &
  wait_until 10 test -s "$pidfile"
}

# stop_pidfile NAME PIDFILE SECONDS: TERM the recorded process, KILL it after SECONDS,
# forget the pid file. Succeeds when nothing was running.
stop_pidfile() {
  local name=$1 pidfile=$2 grace=$3 p
  p=$(pid_alive "$pidfile") || true
  if [[ -n $p ]]; then
    log "stopping $name (pid $p)"
    kill -TERM "$p" 2>/dev/null || true
    local deadline=$((SECONDS + grace))
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$pidfile"
}
