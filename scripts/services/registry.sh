#!/usr/bin/env bash
# Local schema registry for PFAD: Apicurio Registry 3 (from Maven Central), serving the
# Confluent Schema Registry REST API under /apis/ccompat/v7.
#
# Usage: scripts/services/registry.sh install|start|stop|status|env
#
#   install  Fetch io.apicurio:apicurio-registry-app:<version>:tar.gz:all with Maven into
#            $PFAD_CACHE/apicurio-<version> (skipped when already there).
#   start    Start it on 127.0.0.1:${PFAD_REGISTRY_PORT:-8081} (Quarkus management interface
#            on 127.0.0.1:${PFAD_REGISTRY_MANAGEMENT_PORT:-8082}) and wait until the Confluent
#            API answers. Schemas persist in an H2 file database under $PFAD_RUN/registry/db.
#            Idempotent.
#   stop     TERM, KILL after 20 s.
#   status   Exit 0 when running and answering, else 3.
#   env      export PFAD_REGISTRY_URL=http://127.0.0.1:<port>/apis/ccompat/v7
#
# Apicurio 3 is built for Java 21+: the script uses $PFAD_REGISTRY_JAVA, else the newest
# JDK >= 21 under /usr/lib/jvm (the machine's Temurin JDK).
set -euo pipefail
source "$(dirname "$0")/../common.sh"

VERSION=3.3.3
HOME_DIR="$PFAD_CACHE/apicurio-$VERSION"
PORT="${PFAD_REGISTRY_PORT:-8081}"
MANAGEMENT_PORT="${PFAD_REGISTRY_MANAGEMENT_PORT:-8082}"
STATE="$PFAD_RUN/registry"
PIDFILE="$STATE/registry.pid"
LOG="$STATE/registry.log"
URL="http://127.0.0.1:$PORT/apis/ccompat/v7"
mkdir -p "$STATE"

java_bin() {  # a java of version >= 21
  local candidate version
  for candidate in ${PFAD_REGISTRY_JAVA:-} $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -rV) "$(command -v java || true)"; do
    [[ -x $candidate ]] || continue
    version=$("$candidate" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
    if [[ -n $version ]] && ((version >= 21)); then echo "$candidate"; return 0; fi
  done
  return 1
}

install() {
  [[ -e $HOME_DIR/.complete ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch Apicurio Registry"
  log "fetching Apicurio Registry $VERSION from Maven Central"
  local tmp
  tmp=$(mktemp -d)
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all" \
    -DoutputDirectory="$tmp" >"$STATE/mvn.log" 2>&1 || { cat "$STATE/mvn.log" >&2; die "could not fetch Apicurio Registry (see above)"; }
  rm -rf "$HOME_DIR"
  mkdir -p "$HOME_DIR"
  tar -xzf "$tmp"/*.tar.gz -C "$HOME_DIR"
  rm -rf "$tmp"
  touch "$HOME_DIR/.complete"
}

pid() { pid_alive "$PIDFILE"; }

answers() { curl -sf --max-time 2 "$URL/subjects" >/dev/null; }

start() {
  install
  if [[ -n $(pid) ]] && answers; then
    log "registry already running (pid $(pid)) at $URL"
    return 0
  fi
  answers && die "something else already answers at $URL (set PFAD_REGISTRY_PORT)"
  local java
  java=$(java_bin) || die "Apicurio Registry needs Java 21 or newer; none found (set PFAD_REGISTRY_JAVA)"
  log "starting Apicurio Registry $VERSION at $URL"
  # The detached shell records its own pid, then becomes java (exec keeps the pid).
  rm -f "$PIDFILE"
  setsid bash -c 'echo $$ >"$0"; cd "$1" && shift && exec "$@"' "$PIDFILE" "$HOME_DIR" \
    "$java" -Xms128m -Xmx512m \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MANAGEMENT_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    "-Dapicurio.datasource.url=jdbc:h2:file:$STATE/db/registry;DB_CLOSE_ON_EXIT=FALSE" \
    -jar quarkus-run.jar >"$LOG" 2>&1 </dev/null &
  wait_until 10 test -s "$PIDFILE" || die "the registry process did not start"
  if ! wait_until 90 answers; then
    tail -n 20 "$LOG" >&2 || true
    stop >/dev/null 2>&1 || true
    die "the registry did not answer at $URL within 90 s"
  fi
  log "registry ready (pid $(pid)) at $URL"
}

stop() { stop_pidfile registry "$PIDFILE" 20; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if [[ -n $(pid) ]] && answers; then echo "running (pid $(pid)) at $URL"; else echo stopped; exit 3; fi ;;
  env) echo "export PFAD_REGISTRY_URL=$URL" ;;
  *) usage; exit 2 ;;
esac
