#!/usr/bin/env bash
# Local MinIO (S3-compatible object store) for PFAD development and tests.
#
# Usage: scripts/services/minio.sh install|start|stop|status|env
#
#   install  Build MinIO from source with `go install github.com/minio/minio@<pinned>`
#            into $PFAD_CACHE/bin/minio-<version>/minio (skipped if already there).
#            Needs Go >= 1.24 (module proxy on first build; offline afterwards).
#   start    Start MinIO in the background (idempotent; runs `install` if needed) and
#            wait up to ~30 s for /minio/health/ready.
#   stop     Stop it (TERM, then KILL after 10 s). Exit 0 if it was not running.
#   status   Print running/stopped. Exit 0 if running and healthy, else 3.
#   env      Print `export` lines for callers: eval "$(scripts/services/minio.sh env)"
#            (PFAD_MINIO_PORT, MINIO_ROOT_USER/PASSWORD, AWS_ACCESS_KEY_ID,
#            AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION).
#
# Documented local defaults (override through the environment):
#   PFAD_MINIO_PORT=9000           S3 API on http://127.0.0.1:$PFAD_MINIO_PORT
#   PFAD_MINIO_CONSOLE_PORT=9001   web console on 127.0.0.1 (MINIO_BROWSER=off disables it)
#   PFAD_MINIO_DATA=$PFAD_RUN/minio/data
#   AWS_REGION=us-east-1 (MinIO's default region)
#   Credentials: MINIO_ROOT_USER / MINIO_ROOT_PASSWORD if both are set; otherwise a
#     random pair is generated once into $PFAD_RUN/minio/credentials (mode 600) and
#     reused. Nothing secret is ever committed. If you start with your own pair, pass
#     the same pair to `env` too.
#   State: $PFAD_RUN/minio/{minio.pid,minio.log,state}
#   Update checks and call-home are switched off (MINIO_UPDATE=off,
#   MINIO_CALLHOME_ENABLE=off); it listens on loopback only.
set -euo pipefail
source "$(dirname "$0")/../common.sh"

# Pinned: what `go install github.com/minio/minio@latest` resolved to (upstream master;
# MinIO no longer tags Go-module releases). Bump deliberately.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_BIN_DIR="$PFAD_CACHE/bin/minio-$MINIO_VERSION"
MINIO_BIN="$MINIO_BIN_DIR/minio"

MINIO_HOST=127.0.0.1
MINIO_PORT="${PFAD_MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${PFAD_MINIO_CONSOLE_PORT:-9001}"
MINIO_STATE_DIR="$PFAD_RUN/minio"
MINIO_DATA="${PFAD_MINIO_DATA:-$MINIO_STATE_DIR/data}"
MINIO_CREDS="$MINIO_STATE_DIR/credentials"
MINIO_PIDFILE="$MINIO_STATE_DIR/minio.pid"
MINIO_LOG="$MINIO_STATE_DIR/minio.log"
MINIO_STATEFILE="$MINIO_STATE_DIR/state"   # port of the running instance
mkdir -p "$MINIO_STATE_DIR"

# --- credentials -------------------------------------------------------------

rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# Sets ROOT_USER / ROOT_PASSWORD.
load_credentials() {
  if [[ -n "${MINIO_ROOT_USER:-}" || -n "${MINIO_ROOT_PASSWORD:-}" ]]; then
    [[ -n "${MINIO_ROOT_USER:-}" && -n "${MINIO_ROOT_PASSWORD:-}" ]] \
      || die "set both MINIO_ROOT_USER and MINIO_ROOT_PASSWORD, or neither"
    (( ${#MINIO_ROOT_USER} >= 3 && ${#MINIO_ROOT_PASSWORD} >= 8 )) \
      || die "MinIO needs MINIO_ROOT_USER >= 3 and MINIO_ROOT_PASSWORD >= 8 characters"
    ROOT_USER="$MINIO_ROOT_USER"; ROOT_PASSWORD="$MINIO_ROOT_PASSWORD"
    return
  fi
  if [[ ! -s "$MINIO_CREDS" ]]; then
    local tmp
    tmp="$(mktemp "$MINIO_STATE_DIR/.credentials.XXXXXX")"   # mktemp creates it 0600
    chmod 600 "$tmp"
    printf 'MINIO_ROOT_USER=pfad-%s\nMINIO_ROOT_PASSWORD=%s\n' "$(rand_hex 6)" "$(rand_hex 20)" >"$tmp"
    mv -n "$tmp" "$MINIO_CREDS" || true   # -n: a concurrent first call keeps its pair
    rm -f "$tmp"
    log "generated MinIO credentials in $MINIO_CREDS"
  fi
  ROOT_USER=""; ROOT_PASSWORD=""
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      MINIO_ROOT_USER) ROOT_USER="$value" ;;
      MINIO_ROOT_PASSWORD) ROOT_PASSWORD="$value" ;;
    esac
  done <"$MINIO_CREDS"
  [[ -n "$ROOT_USER" && -n "$ROOT_PASSWORD" ]] \
    || die "malformed $MINIO_CREDS (delete it to regenerate, together with $MINIO_DATA if the data should go too)"
}

# --- process helpers ---------------------------------------------------------

# Prints the pid of our running MinIO (pid file points at a live minio process).
running_pid() {
  [[ -s "$MINIO_PIDFILE" ]] || return 1
  local pid
  pid="$(<"$MINIO_PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be `.../minio server ...`.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    local -a argv
    mapfile -d '' -t argv <"/proc/$pid/cmdline" || true
    [[ "${argv[0]:-}" == */minio && "${argv[1]:-}" == server ]] || return 1
  fi
  echo "$pid"
}

# Port of the running instance (it may have been started with another PFAD_MINIO_PORT).
running_port() {
  if [[ -s "$MINIO_STATEFILE" ]] && running_pid >/dev/null; then
    cat "$MINIO_STATEFILE"
  else
    echo "$MINIO_PORT"
  fi
}

healthy() {
  curl -sf -o /dev/null --max-time 2 "http://$MINIO_HOST:${1:-$MINIO_PORT}/minio/health/ready"
}

need_curl() { command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl)"; }

# --- sub-commands ------------------------------------------------------------

cmd_install() {
  if [[ -x "$MINIO_BIN" ]]; then
    log "minio $MINIO_VERSION already installed: $MINIO_BIN"
    return 0
  fi
  command -v go >/dev/null 2>&1 \
    || die "go not found in PATH; MinIO is built from source and needs Go >= 1.24 (https://go.dev/dl/)"
  log "building minio $MINIO_VERSION with $(go version | awk '{print $3}') (first build takes a few minutes)..."
  mkdir -p "$PFAD_CACHE/bin"
  local start=$SECONDS
  BUILD_TMP="$(mktemp -d "$PFAD_CACHE/bin/.minio-build.XXXXXX")"
  trap 'rm -rf "$BUILD_TMP"' EXIT
  local tmp="$BUILD_TMP"
  # Install into a temp GOBIN and move into place, so an interrupted build never
  # leaves a half-written binary that a later run would take as installed.
  local pkg="github.com/minio/minio@$MINIO_VERSION" ok=""
  local dl; dl="$(go env GOMODCACHE)/cache/download"
  if [[ -f "$dl/github.com/minio/minio/@v/$MINIO_VERSION.zip" ]]; then
    # Offline first: `go install pkg@version` also looks up @latest for a deprecation
    # notice, which fails without network even with every module cached. Serving the
    # module cache as the proxy avoids that (checksums were verified on download).
    log "trying the local Go module cache first (offline)"
    GOBIN="$tmp" GOPROXY="file://$dl" go install -buildvcs=false "$pkg" && ok=1 \
      || log "offline build failed; retrying with GOPROXY=$(go env GOPROXY)"
  fi
  if [[ -z "$ok" ]] && ! GOBIN="$tmp" go install -buildvcs=false "$pkg"; then
    rm -rf "$tmp"
    die "go install $pkg failed (needs Go >= 1.24 or GOTOOLCHAIN=auto, and the Go module proxy or a warm module cache)"
  fi
  mkdir -p "$MINIO_BIN_DIR"
  mv -f "$tmp/minio" "$MINIO_BIN"
  rm -rf "$tmp"
  log "installed $MINIO_BIN in $((SECONDS - start)) s"
}

cmd_start() {
  need_curl
  local pid
  if pid="$(running_pid)"; then
    local port; port="$(running_port)"
    if healthy "$port"; then
      log "minio already running (pid $pid) on http://$MINIO_HOST:$port"
      return 0
    fi
    log "minio (pid $pid) is running but not ready; waiting..."
    if wait_until 30 healthy "$port"; then
      log "minio ready on http://$MINIO_HOST:$port"
      return 0
    fi
    tail -n 20 "$MINIO_LOG" >&2 || true
    die "minio (pid $pid) is running but not ready after 30 s; see $MINIO_LOG (try: $0 stop)"
  fi
  if healthy "$MINIO_PORT"; then
    die "something not started by this script already serves MinIO on $MINIO_HOST:$MINIO_PORT; stop it or set PFAD_MINIO_PORT"
  fi

  [[ -x "$MINIO_BIN" ]] || cmd_install
  load_credentials
  mkdir -p "$MINIO_DATA"
  [[ -f "$MINIO_LOG" ]] && mv -f "$MINIO_LOG" "$MINIO_LOG.prev"

  log "starting minio on http://$MINIO_HOST:$MINIO_PORT (data: $MINIO_DATA)"
  # No job control in a script, so the background child is no process-group leader:
  # setsid detaches in place (no fork) and $! is the minio pid.
  MINIO_ROOT_USER="$ROOT_USER" \
  MINIO_ROOT_PASSWORD="$ROOT_PASSWORD" \
  MINIO_UPDATE=off \
  MINIO_CALLHOME_ENABLE=off \
  MINIO_BROWSER="${MINIO_BROWSER:-on}" \
    setsid nohup "$MINIO_BIN" server \
      --address "$MINIO_HOST:$MINIO_PORT" \
      --console-address "$MINIO_HOST:$MINIO_CONSOLE_PORT" \
      "$MINIO_DATA" >"$MINIO_LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$MINIO_PIDFILE"
  echo "$MINIO_PORT" >"$MINIO_STATEFILE"

  ready_or_dead() { healthy "$MINIO_PORT" || ! kill -0 "$pid" 2>/dev/null; }
  # (MinIO can answer on the API port and still die right after, e.g. when the
  # console port is taken, hence the second look after a short pause.)
  if wait_until 30 ready_or_dead && healthy "$MINIO_PORT" && sleep 0.5 && kill -0 "$pid" 2>/dev/null; then
    log "minio ready (pid $pid) on http://$MINIO_HOST:$MINIO_PORT"
    return 0
  fi
  echo "----- last 20 lines of $MINIO_LOG -----" >&2
  tail -n 20 "$MINIO_LOG" >&2 || true
  echo "-----" >&2
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    die "minio did not become ready on $MINIO_HOST:$MINIO_PORT within 30 s (stopped it); see $MINIO_LOG"
  fi
  rm -f "$MINIO_PIDFILE" "$MINIO_STATEFILE"
  die "minio exited during startup (port $MINIO_PORT or $MINIO_CONSOLE_PORT in use?); see $MINIO_LOG"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$MINIO_PIDFILE" "$MINIO_STATEFILE"
    log "minio not running"
    return 0
  fi
  log "stopping minio (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  pid_gone() { ! kill -0 "$pid" 2>/dev/null; }
  if ! wait_until 10 pid_gone; then
    log "minio did not exit after 10 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 pid_gone || die "could not kill minio (pid $pid)"
  fi
  rm -f "$MINIO_PIDFILE" "$MINIO_STATEFILE"
  log "minio stopped"
}

cmd_status() {
  need_curl
  local pid port
  if pid="$(running_pid)"; then
    port="$(running_port)"
    if healthy "$port"; then
      echo "running (pid $pid, http://$MINIO_HOST:$port, data $MINIO_DATA)"
      return 0
    fi
    echo "unhealthy (pid $pid alive, http://$MINIO_HOST:$port/minio/health/ready not answering)"
    return 3
  fi
  echo "stopped"
  return 3
}

cmd_env() {
  load_credentials
  local port; port="$(running_port)"
  printf 'export PFAD_MINIO_PORT=%q\n' "$port"
  printf 'export MINIO_ROOT_USER=%q\n' "$ROOT_USER"
  printf 'export MINIO_ROOT_PASSWORD=%q\n' "$ROOT_PASSWORD"
  printf 'export AWS_ACCESS_KEY_ID=%q\n' "$ROOT_USER"
  printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$ROOT_PASSWORD"
  printf 'export AWS_ENDPOINT_URL=%q\n' "http://$MINIO_HOST:$port"
  echo 'export AWS_REGION=us-east-1'   # MinIO's default region
}

case "${1:-}" in
  install) cmd_install ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  env)     cmd_env ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
