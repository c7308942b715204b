#!/usr/bin/env bash
# Local ClickHouse server (the warehouse sink of `pfad ingest` and the source of
# `pfad export`) for PFAD development and tests.
#
# Usage: scripts/services/clickhouse.sh start|stop|status|env
#
#   start    Start clickhouse-server in the background (idempotent) and wait up to
#            30 s for GET /ping. The server is Debian's clickhouse-server package
#            (scripts/setup.sh test installs it); it runs with a config written here,
#            so the system's /etc/clickhouse-server is never used or changed.
#   stop     Stop it (TERM, then KILL after 10 s). Exit 0 if it was not running.
#   status   Print running/stopped. Exit 0 if running and answering /ping, else 3.
#   env      Print `export` lines: eval "$(scripts/services/clickhouse.sh env)"
#            (PFAD_CLICKHOUSE_PORT, PFAD_CLICKHOUSE_NATIVE_PORT, PFAD_CLICKHOUSE_URL,
#            PFAD_CLICKHOUSE_USER, PFAD_CLICKHOUSE_PASSWORD).
#
# Documented local defaults (override through the environment):
#   PFAD_CLICKHOUSE_PORT=8123          HTTP interface on http://127.0.0.1:$PFAD_CLICKHOUSE_PORT
#   PFAD_CLICKHOUSE_NATIVE_PORT=9100   native protocol (clickhouse-client, clickhouse-driver);
#                                      not 9000, which MinIO uses
#   PFAD_CLICKHOUSE_DATA=$PFAD_RUN/clickhouse/data
#   Credentials: user `pfad` with a random password generated once into
#     $PFAD_RUN/clickhouse/credentials (mode 600) and reused; nothing secret is committed.
#   State: $PFAD_RUN/clickhouse/{clickhouse.pid,clickhouse.log,config.xml,users.xml,state}
#   Listens on 127.0.0.1 only.
set -euo pipefail
source "$(dirname "$0")/../common.sh"

CH_HOST=127.0.0.1
CH_PORT="${PFAD_CLICKHOUSE_PORT:-8123}"
CH_NATIVE_PORT="${PFAD_CLICKHOUSE_NATIVE_PORT:-9100}"
CH_STATE_DIR="$PFAD_RUN/clickhouse"
CH_DATA="${PFAD_CLICKHOUSE_DATA:-$CH_STATE_DIR/data}"
CH_CREDS="$CH_STATE_DIR/credentials"
CH_PIDFILE="$CH_STATE_DIR/clickhouse.pid"
CH_LOG="$CH_STATE_DIR/clickhouse.log"
CH_STATEFILE="$CH_STATE_DIR/state"   # "<http port> <native port>" of the running instance
mkdir -p "$CH_STATE_DIR"

find_server() {
  local bin
  for bin in clickhouse-server /usr/bin/clickhouse-server; do
    command -v "$bin" >/dev/null 2>&1 && { command -v "$bin"; return 0; }
  done
  return 1
}

rand_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# Sets CH_USER / CH_PASSWORD.
load_credentials() {
  if [[ ! -s "$CH_CREDS" ]]; then
    local tmp
    tmp="$(mktemp "$CH_STATE_DIR/.credentials.XXXXXX")"
    chmod 600 "$tmp"
    printf 'PFAD_CLICKHOUSE_USER=pfad\nPFAD_CLICKHOUSE_PASSWORD=%s\n' "$(rand_hex 16)" >"$tmp"
    mv -n "$tmp" "$CH_CREDS" || true
    rm -f "$tmp"
    log "generated ClickHouse credentials in $CH_CREDS"
  fi
  CH_USER=""; CH_PASSWORD=""
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      PFAD_CLICKHOUSE_USER) CH_USER="$value" ;;
      PFAD_CLICKHOUSE_PASSWORD) CH_PASSWORD="$value" ;;
    esac
  done <"$CH_CREDS"
  [[ -n "$CH_USER" && -n "$CH_PASSWORD" ]] || die "malformed $CH_CREDS (delete it to regenerate)"
}

running_pid() {
  [[ -s "$CH_PIDFILE" ]] || return 1
  local pid
  pid="$(<"$CH_PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then   # guard against pid reuse
    local -a argv
    mapfile -d '' -t argv <"/proc/$pid/cmdline" || true
    [[ "${argv[0]:-}" == *clickhouse* ]] || return 1
  fi
  echo "$pid"
}

running_ports() {  # prints "<http> <native>"
  if [[ -s "$CH_STATEFILE" ]] && running_pid >/dev/null; then cat "$CH_STATEFILE"; else echo "$CH_PORT $CH_NATIVE_PORT"; fi
}

healthy() { [[ "$(curl -s --max-time 2 "http://$CH_HOST:${1:-$CH_PORT}/ping" 2>/dev/null)" == Ok.* ]]; }

write_config() {
  # The password goes in as its SHA-256 only (every server version since 1.1 reads password_sha256_hex).
  local sha; sha="$(printf '%s' "$CH_PASSWORD" | sha256sum | cut -d' ' -f1)"
  cat >"$CH_STATE_DIR/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <$CH_USER>
      <password_sha256_hex>$sha</password_sha256_hex>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </$CH_USER>
  </users>
  <quotas><default></default></quotas>
</yandex>
XML
  cat >"$CH_STATE_DIR/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$CH_PORT</http_port>
  <tcp_port>$CH_NATIVE_PORT</tcp_port>
  <path>$CH_DATA/</path>
  <tmp_path>$CH_DATA/tmp/</tmp_path>
  <user_files_path>$CH_DATA/user_files/</user_files_path>
  <format_schema_path>$CH_DATA/format_schemas/</format_schema_path>
  <users_config>$CH_STATE_DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <timezone>UTC</timezone>
</yandex>
XML
}

cmd_start() {
  command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl)"
  local pid ports
  if pid="$(running_pid)"; then
    ports="$(running_ports)"
    if wait_until 30 healthy "${ports%% *}"; then
      log "clickhouse already running (pid $pid) on http://$CH_HOST:${ports%% *}"
      return 0
    fi
    die "clickhouse (pid $pid) is running but /ping does not answer; see $CH_LOG (try: $0 stop)"
  fi
  if healthy "$CH_PORT"; then
    die "something not started by this script already answers on $CH_HOST:$CH_PORT; stop it or set PFAD_CLICKHOUSE_PORT"
  fi
  local server
  server="$(find_server)" || die "clickhouse-server not found: scripts/setup.sh test installs it (Debian package clickhouse-server)"
  load_credentials
  mkdir -p "$CH_DATA/tmp" "$CH_DATA/user_files" "$CH_DATA/format_schemas"
  write_config
  [[ -f "$CH_LOG" ]] && mv -f "$CH_LOG" "$CH_LOG.prev"
  log "starting clickhouse-server on http://$CH_HOST:$CH_PORT (native $CH_NATIVE_PORT, data $CH_DATA)"
  setsid nohup "$server" --config-file="$CH_STATE_DIR/config.xml" >"$CH_LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$CH_PIDFILE"
  echo "$CH_PORT $CH_NATIVE_PORT" >"$CH_STATEFILE"
  ready_or_dead() { healthy "$CH_PORT" || ! kill -0 "$pid" 2>/dev/null; }
  if wait_until 30 ready_or_dead && healthy "$CH_PORT"; then
    log "clickhouse ready (pid $pid) on http://$CH_HOST:$CH_PORT"
    return 0
  fi
  echo "----- last 20 lines of $CH_LOG -----" >&2
  tail -n 20 "$CH_LOG" >&2 || true
  echo "-----" >&2
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    die "clickhouse did not answer /ping on $CH_HOST:$CH_PORT within 30 s (stopped it); see $CH_LOG"
  fi
  rm -f "$CH_PIDFILE" "$CH_STATEFILE"
  die "clickhouse-server exited during startup (port $CH_PORT or $CH_NATIVE_PORT in use?); see $CH_LOG"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$CH_PIDFILE" "$CH_STATEFILE"
    log "clickhouse not running"
    return 0
  fi
  log "stopping clickhouse (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  pid_gone() { ! kill -0 "$pid" 2>/dev/null; }
  if ! wait_until 10 pid_gone; then
    log "clickhouse did not exit after 10 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 pid_gone || die "could not kill clickhouse (pid $pid)"
  fi
  rm -f "$CH_PIDFILE" "$CH_STATEFILE"
  log "clickhouse stopped"
}

cmd_status() {
  local pid ports
  if pid="$(running_pid)"; then
    ports="$(running_ports)"
    if healthy "${ports%% *}"; then
      echo "running (pid $pid, http://$CH_HOST:${ports%% *}, native ${ports##* }, data $CH_DATA)"
      return 0
    fi
    echo "unhealthy (pid $pid alive, http://$CH_HOST:${ports%% *}/ping not answering)"
    return 3
  fi
  echo "stopped"
  return 3
}

cmd_env() {
  load_credentials
  local ports; ports="$(running_ports)"
  printf 'export PFAD_CLICKHOUSE_PORT=%q\n' "${ports%% *}"
  printf 'export PFAD_CLICKHOUSE_NATIVE_PORT=%q\n' "${ports##* }"
  printf 'export PFAD_CLICKHOUSE_URL=%q\n' "http://$CH_HOST:${ports%% *}/pfad"
  printf 'export PFAD_CLICKHOUSE_USER=%q\n' "$CH_USER"
  printf 'export PFAD_CLICKHOUSE_PASSWORD=%q\n' "$CH_PASSWORD"
}

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  env)    cmd_env ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
