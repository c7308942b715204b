#!/usr/bin/env bash
# Local Prometheus (Debian's `prometheus` package) for PFAD tests and a look at a running pipeline.
#
# Usage: scripts/services/prometheus.sh start|stop|reload|status|env|config
#
#   start    Write the configuration (below) and start Prometheus in the background on
#            127.0.0.1:$PFAD_PROMETHEUS_PORT (idempotent: a running one gets the new
#            configuration through `reload`); wait up to ~30 s for /-/ready.
#   stop     Stop it (TERM, then KILL after 10 s). Exit 0 if it was not running.
#   reload   Write the configuration again and make the running Prometheus read it (SIGHUP).
#   status   Print running/stopped. Exit 0 if running and ready, else 3.
#   env      Print `export PFAD_PROMETHEUS_URL=http://127.0.0.1:<port>`.
#   config   Print the configuration that `start` would write.
#
# The scrape configuration is generated from the environment, for the processes a test or a
# person started:
#   PFAD_PROMETHEUS_TARGETS   space-separated job=host:port pairs, e.g.
#                             "pfad-run=127.0.0.1:9401 pfad-dashboard=127.0.0.1:9402"; a job may
#                             appear more than once (two ingesters of one group)
#   PFAD_PROMETHEUS_RULES     rule files, space-separated (default deploy/prometheus/pfad-rules.yml)
#   PFAD_PROMETHEUS_INTERVAL  scrape and rule evaluation interval (default 15s; tests use 1s)
#   PFAD_PROMETHEUS_PORT      HTTP port on 127.0.0.1 (default 9090)
# State: $PFAD_RUN/prometheus/{prometheus.yml,data,prometheus.pid,prometheus.log}. Data is
# kept for 1 day.
set -euo pipefail
source "$(dirname "$0")/../common.sh"

PORT="${PFAD_PROMETHEUS_PORT:-9090}"
INTERVAL="${PFAD_PROMETHEUS_INTERVAL:-15s}"
RULES="${PFAD_PROMETHEUS_RULES:-$PFAD_ROOT/deploy/prometheus/pfad-rules.yml}"
TARGETS="${PFAD_PROMETHEUS_TARGETS:-}"
STATE="$PFAD_RUN/prometheus"
CONFIG="$STATE/prometheus.yml"
PIDFILE="$STATE/prometheus.pid"
LOG="$STATE/prometheus.log"
URL="http://127.0.0.1:$PORT"

binary() {
  command -v prometheus >/dev/null 2>&1 ||
    die "prometheus is not installed: run scripts/setup.sh test (Debian package 'prometheus')"
}

# The configuration: one scrape job per distinct job name of PFAD_PROMETHEUS_TARGETS.
write_config() {
  local out=$1 pair job target jobs=() rule
  declare -A targets=()
  for pair in $TARGETS; do
    [[ $pair =~ ^[A-Za-z_][A-Za-z0-9_-]*=[A-Za-z0-9.:_-]+:[0-9]+$ ]] ||
      die "PFAD_PROMETHEUS_TARGETS: '$pair' is not job=host:port"
    job=${pair%%=*}
    target=${pair#*=}
    [[ -v targets[$job] ]] || jobs+=("$job")
    targets[$job]+="${targets[$job]:+, }\"$target\""
  done
  {
    echo "# Written by scripts/services/prometheus.sh; edits are lost at the next start."
    echo "global:"
    echo "  scrape_interval: $INTERVAL"
    echo "  evaluation_interval: $INTERVAL"
    echo "rule_files:"
    for rule in $RULES; do
      [[ -r $rule ]] || die "PFAD_PROMETHEUS_RULES: cannot read $rule"
      echo "  - \"$(realpath "$rule")\""
    done
    echo "scrape_configs:"
    for job in "${jobs[@]}"; do
      echo "  - job_name: \"$job\""
      echo "    static_configs:"
      echo "      - targets: [${targets[$job]}]"
    done
    ((${#jobs[@]} > 0)) || echo "  []"
  } >"$out"
}

pid() { pid_alive "$PIDFILE"; }
ready() { curl -fsS --max-time 2 "$URL/-/ready" >/dev/null; }

check_config() {
  local tmp
  mkdir -p "$STATE"
  tmp=$(mktemp "$STATE/.prometheus.yml.XXXXXX")
  write_config "$tmp"
  if command -v promtool >/dev/null 2>&1 && ! promtool check config "$tmp" >"$STATE/check.log" 2>&1; then
    cat "$STATE/check.log" >&2
    rm -f "$tmp"
    die "the generated Prometheus configuration is invalid (above)"
  fi
  mv "$tmp" "$CONFIG"
}

start() {
  binary
  check_config
  if [[ -n $(pid) ]]; then
    reload
    return
  fi
  port_in_use "$PORT" && die "port $PORT is taken by another process (set PFAD_PROMETHEUS_PORT)"
  mkdir -p "$STATE/data"
  log "starting prometheus on $URL (targets: ${TARGETS:-none})"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" prometheus \
    --config.file="$CONFIG" --storage.tsdb.path="$STATE/data" --storage.tsdb.retention.time=1d \
    --web.listen-address="127.0.0.1:$PORT" --web.enable-lifecycle \
    >"$LOG" 2>&1 </dev/null &
  if ! wait_until 30 ready; then
    tail -n 20 "$LOG" >&2 || true
    stop
    die "prometheus did not become ready on $URL within 30 s (log above)"
  fi
  log "prometheus ready (pid $(pid)) on $URL"
}

reload() {
  local p
  p=$(pid) || die "prometheus is not running"
  check_config
  kill -HUP "$p"
  log "prometheus (pid $p) reloads $CONFIG (targets: ${TARGETS:-none})"
}

stop() { stop_pidfile prometheus "$PIDFILE" 10; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  reload) reload ;;
  status)
    if [[ -n $(pid) ]] && ready; then echo "running (pid $(pid)) on $URL"; else echo stopped; exit 3; fi ;;
  env) echo "export PFAD_PROMETHEUS_URL=$URL" ;;
  config)
    tmp=$(mktemp)
    write_config "$tmp"
    cat "$tmp"
    rm -f "$tmp" ;;
  *) usage; exit 2 ;;
esac
