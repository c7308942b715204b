#!/usr/bin/env bash
# Local Apache Spark for PFAD: a standalone master, one worker and a Spark Connect server,
# all from the pinned pyspark wheel in .venv (its jars and bin/; the wheel has no sbin/).
#
# Usage: scripts/services/spark.sh install|start|stop|status|env
#
#   install  Resolve hadoop-aws (exactly the Hadoop version bundled in pyspark/jars) and the
#            AWS SDK bundle it declares from Maven Central (scripts/services/spark/pom.xml)
#            into $PFAD_CACHE/spark-s3a-<hadoop version>/jars. Skipped when already there.
#   start    Start the master (spark://127.0.0.1:${PFAD_SPARK_MASTER_PORT:-7077}, web UI
#            :${PFAD_SPARK_MASTER_UI_PORT:-18080}), a worker (web UI :${PFAD_SPARK_WORKER_UI_PORT:-18081},
#            ${PFAD_SPARK_WORKER_CORES:-4} cores, ${PFAD_SPARK_WORKER_MEMORY:-2g}) and the Spark Connect
#            server on 127.0.0.1:${PFAD_SPARK_CONNECT_PORT:-15002} (its driver UI on
#            :${PFAD_SPARK_UI_PORT:-4040}), using that master; return once the worker has
#            registered and the Connect port answers. Idempotent: running parts are kept.
#   stop     Stop the Connect server, the worker and the master (TERM, KILL after 20 s).
#   status   Exit 0 when all three run and answer, else 3.
#   env      export SPARK_HOME, SPARK_CONF_DIR, PFAD_SPARK_MASTER, PFAD_SPARK_REMOTE
#            (sc://127.0.0.1:<port>), so spark-submit and pfad use this cluster.
#
# S3A: the Connect server and the executors read s3a:// (and s3://) objects from
# $AWS_ENDPOINT_URL with path-style access, no SSL, and the credentials of AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY in the environment of `start` (taken from scripts/services/minio.sh env
# when unset). Credentials are passed through the environment, never on a command line or
# in a file. Worker slots: the Connect server takes at most ${PFAD_SPARK_CONNECT_CORES:-2} cores,
# so a spark-submit job (make bench BENCH=spark) gets the others on the same cluster.
# State and logs: $PFAD_RUN/spark/{master,worker,connect}.{pid,log}, conf/, work/.
set -euo pipefail
source "$(dirname "$0")/../common.sh"

MASTER_PORT="${PFAD_SPARK_MASTER_PORT:-7077}"
MASTER_UI_PORT="${PFAD_SPARK_MASTER_UI_PORT:-18080}"
WORKER_UI_PORT="${PFAD_SPARK_WORKER_UI_PORT:-18081}"
WORKER_CORES="${PFAD_SPARK_WORKER_CORES:-4}"
WORKER_MEMORY="${PFAD_SPARK_WORKER_MEMORY:-2g}"
CONNECT_PORT="${PFAD_SPARK_CONNECT_PORT:-15002}"
CONNECT_CORES="${PFAD_SPARK_CONNECT_CORES:-2}"
UI_PORT="${PFAD_SPARK_UI_PORT:-4040}"
DRIVER_MEMORY="${PFAD_SPARK_DRIVER_MEMORY:-768m}"
EXECUTOR_MEMORY="${PFAD_SPARK_EXECUTOR_MEMORY:-768m}"
MASTER_URL="spark://127.0.0.1:$MASTER_PORT"
STATE="$PFAD_RUN/spark"
CONF_DIR="$STATE/conf"
mkdir -p "$STATE" "$CONF_DIR"

PYTHON="$PFAD_VENV/bin/python"

spark_home() {  # the pyspark package directory (it is SPARK_HOME for pip installs)
  [[ -x $PYTHON ]] || die "no Python venv at $PFAD_VENV: run scripts/setup.sh test"
  local dir
  dir=$("$PYTHON" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("pyspark").origin))' 2>/dev/null) \
    || die "pyspark is not installed in $PFAD_VENV: run scripts/setup.sh test"
  echo "$dir"
}
SPARK_HOME=$(spark_home)
export SPARK_HOME
# The Hadoop version Spark was built with, read off its client jar.
HADOOP_VERSION=$(find "$SPARK_HOME/jars" -maxdepth 1 -name 'hadoop-client-api-*.jar' -printf '%f\n' | sed -n 's/^hadoop-client-api-\(.*\)\.jar$/\1/p' | head -n1)
[[ -n $HADOOP_VERSION ]] || die "no hadoop-client-api-*.jar in $SPARK_HOME/jars: is this a full pyspark install?"
S3A_HOME="$PFAD_CACHE/spark-s3a-$HADOOP_VERSION"
S3A_JARS="$S3A_HOME/jars"

install() {
  [[ -e $S3A_HOME/.complete ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch hadoop-aws"
  log "resolving hadoop-aws $HADOOP_VERSION and its AWS SDK from Maven Central"
  rm -rf "$S3A_JARS"
  mvn -q -B -Dstyle.color=never -f "$PFAD_ROOT/scripts/services/spark/pom.xml" dependency:copy-dependencies \
    -Dhadoop.version="$HADOOP_VERSION" -DincludeScope=runtime -DoutputDirectory="$S3A_JARS" >"$STATE/mvn.log" 2>&1 \
    || { cat "$STATE/mvn.log" >&2; die "could not resolve hadoop-aws $HADOOP_VERSION (see above)"; }
  ls "$S3A_JARS"/hadoop-aws-*.jar "$S3A_JARS"/bundle-*.jar >/dev/null 2>&1 || die "hadoop-aws or the AWS SDK bundle is missing from $S3A_JARS"
  touch "$S3A_HOME/.complete"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid() { pid_alive "$STATE/$1.pid"; }

# Alive workers registered with the master, from its JSON status page.
alive_workers() {
  curl -sf --max-time 2 "http://127.0.0.1:$MASTER_UI_PORT/json/" \
    | "$PYTHON" -c 'import json, sys; print(sum(w["state"] == "ALIVE" for w in json.load(sys.stdin)["workers"]))'
}
worker_registered() { [[ $(alive_workers 2>/dev/null || echo 0) -ge 1 ]]; }

# S3A settings (no credentials: those come from the environment) and ports, for the Connect
# server and for any spark-submit pointed at this conf dir.
write_conf() {
  local jars
  jars=$(find "$S3A_JARS" -name '*.jar' | sort | paste -sd, -)
  local endpoint="${AWS_ENDPOINT_URL:-http://127.0.0.1:${PFAD_MINIO_PORT:-9000}}"
  cat >"$CONF_DIR/spark-defaults.conf.tmp" <<CONF
spark.master                                   $MASTER_URL
spark.jars                                     $jars
spark.driver.host                              127.0.0.1
spark.driver.bindAddress                       127.0.0.1
spark.hadoop.fs.s3a.endpoint                   $endpoint
spark.hadoop.fs.s3a.endpoint.region            ${AWS_REGION:-us-east-1}
spark.hadoop.fs.s3a.path.style.access          true
spark.hadoop.fs.s3a.connection.ssl.enabled     false
spark.hadoop.fs.s3a.aws.credentials.provider   software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider
spark.hadoop.fs.s3a.attempts.maximum           3
spark.hadoop.fs.s3a.retry.limit                3
spark.hadoop.fs.s3a.connection.establish.timeout 5s
spark.hadoop.fs.s3.impl                        org.apache.hadoop.fs.s3a.S3AFileSystem
spark.sql.session.timeZone                     UTC
spark.eventLog.enabled                         false
CONF
  mv -f "$CONF_DIR/spark-defaults.conf.tmp" "$CONF_DIR/spark-defaults.conf"
}

launch() {  # launch NAME CMD...: detached, pid recorded (exec keeps it), output to NAME.log
  local name=$1; shift
  [[ -f $STATE/$name.log ]] && mv -f "$STATE/$name.log" "$STATE/$name.log.prev"
  detach "$STATE/$name.pid" "$STATE/$name.log" "$@" || die "the spark $name process did not start"
}

fail_start() {  # fail_start NAME MESSAGE
  tail -n 30 "$STATE/$1.log" >&2 || true
  die "$2 (see $STATE/$1.log)"
}

credentials() {  # AWS_* from the environment, else the local MinIO's
  if [[ -z ${AWS_ACCESS_KEY_ID:-} || -z ${AWS_SECRET_ACCESS_KEY:-} ]]; then
    eval "$("$PFAD_ROOT/scripts/services/minio.sh" env)"
    log "S3A credentials: the local MinIO's (scripts/services/minio.sh env)"
  fi
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION="${AWS_REGION:-us-east-1}"
}

start() {
  install
  credentials
  write_conf
  export SPARK_CONF_DIR="$CONF_DIR" SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS="$STATE/tmp"
  export SPARK_LOG_DIR="$STATE" SPARK_NO_DAEMONIZE=1 PYSPARK_PYTHON="$PYTHON"
  mkdir -p "$STATE/work" "$STATE/tmp"

  if [[ -z $(pid master) ]]; then
    port_open "$MASTER_PORT" && die "port $MASTER_PORT is taken by another process (set PFAD_SPARK_MASTER_PORT)"
    log "starting spark master on $MASTER_URL (web UI http://127.0.0.1:$MASTER_UI_PORT)"
    SPARK_DAEMON_MEMORY=256m launch master "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$MASTER_UI_PORT"
    wait_until 60 port_open "$MASTER_PORT" || fail_start master "the spark master did not open $MASTER_PORT within 60 s"
  fi
  if [[ -z $(pid worker) ]]; then
    log "starting spark worker ($WORKER_CORES cores, $WORKER_MEMORY; web UI http://127.0.0.1:$WORKER_UI_PORT)"
    # Old application directories (executor logs) are removed after a day.
    SPARK_DAEMON_MEMORY=256m \
    SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=86400" \
      launch worker "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
      --host 127.0.0.1 --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" --webui-port "$WORKER_UI_PORT" \
      --work-dir "$STATE/work" "$MASTER_URL"
  fi
  wait_until 60 worker_registered || fail_start worker "no spark worker registered with $MASTER_URL within 60 s"
  if [[ -z $(pid connect) ]]; then
    port_open "$CONNECT_PORT" && die "port $CONNECT_PORT is taken by another process (set PFAD_SPARK_CONNECT_PORT)"
    log "starting Spark Connect on sc://127.0.0.1:$CONNECT_PORT (driver UI http://127.0.0.1:$UI_PORT)"
    launch connect "$SPARK_HOME/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
      --name "PFAD Spark Connect" --driver-memory "$DRIVER_MEMORY" --executor-memory "$EXECUTOR_MEMORY" \
      --conf spark.cores.max="$CONNECT_CORES" --conf spark.executor.cores="$CONNECT_CORES" \
      --conf spark.connect.grpc.binding.address=127.0.0.1 --conf spark.connect.grpc.binding.port="$CONNECT_PORT" \
      --conf spark.ui.port="$UI_PORT" --conf spark.sql.shuffle.partitions=2 \
      spark-internal
    if ! wait_until 120 connect_up; then
      fail_start connect "Spark Connect did not open 127.0.0.1:$CONNECT_PORT within 120 s"
    fi
  fi
  log "spark ready: master $MASTER_URL, Spark Connect sc://127.0.0.1:$CONNECT_PORT"
}

connect_up() { [[ -n $(pid connect) ]] && port_open "$CONNECT_PORT"; }

stop() {
  stop_pidfile "spark connect" "$STATE/connect.pid" 20
  stop_pidfile "spark worker" "$STATE/worker.pid" 20
  stop_pidfile "spark master" "$STATE/master.pid" 20
}

status() {
  local ok=1
  [[ -n $(pid master) ]] && port_open "$MASTER_PORT" || ok=0
  worker_registered || ok=0
  connect_up || ok=0
  if ((ok)); then
    echo "running: master $MASTER_URL (pid $(pid master)), worker (pid $(pid worker)), Spark Connect sc://127.0.0.1:$CONNECT_PORT (pid $(pid connect))"
  else
    echo "stopped (master pid: $(pid master || true), worker pid: $(pid worker || true), connect pid: $(pid connect || true))"
    return 3
  fi
}

env_lines() {
  printf 'export SPARK_HOME=%q\n' "$SPARK_HOME"
  printf 'export SPARK_CONF_DIR=%q\n' "$CONF_DIR"
  printf 'export PFAD_SPARK_MASTER=%q\n' "$MASTER_URL"
  printf 'export PFAD_SPARK_REMOTE=%q\n' "sc://127.0.0.1:$CONNECT_PORT"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_lines ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
