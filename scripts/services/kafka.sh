#!/usr/bin/env bash
# Local Apache Kafka (KRaft) for PFAD tests and benchmarks: one node by default, or a replicated
# cluster of PFAD_KAFKA_BROKERS=3 (or more) nodes on 127.0.0.1.
#
# Usage: scripts/services/kafka.sh install|start|stop|status|env|sasl-env|classpath
#                                  |kill-broker N|stop-broker N|start-broker N
#
#   install    Resolve the broker and tools jars from Maven Central (scripts/services/kafka/pom.xml)
#              into $PFAD_CACHE/kafka-<version>/libs (skipped when already there).
#   start      Format storage once, start the broker on 127.0.0.1:${PFAD_KAFKA_PORT:-9092}
#              (controller on :${PFAD_KAFKA_CONTROLLER_PORT:-9093}), create the topics of
#              PFAD_KAFKA_TOPICS (default "user_interactions:6 user_interactions.dlq:1
#              user_interactions.windows:1 user_interactions.labels:6 user_interactions.fraud:6", name:partitions, space-separated)
#              and wait until a real produce request is acknowledged. Idempotent.
#              Also a SASL_SSL listener on 127.0.0.1:${PFAD_KAFKA_SASL_PORT:-<port + 2>} (0 = none):
#              SCRAM-SHA-512 logins over TLS. The script makes, once, a CA and the broker's
#              certificate (openssl; for 127.0.0.1 and localhost) and a random password for the
#              user ${PFAD_KAFKA_SASL_USER:-pfad}, created when the storage is formatted; all in
#              $PFAD_RUN/kafka/tls (mode 700), never in the repository.
#   stop       TERM (controlled shutdown), KILL after 30 s. Data is kept for the next start.
#   status     Exit 0 when running and answering (every node of a cluster), else 3.
#   env        export PFAD_KAFKA_BOOTSTRAP=127.0.0.1:<port>[,127.0.0.1:<port>...]
#   sasl-env   The exports that point PFAD at the SASL_SSL listener: PFAD_KAFKA_BOOTSTRAP,
#              PFAD_KAFKA_SECURITY_PROTOCOL, PFAD_KAFKA_SASL_MECHANISM, PFAD_KAFKA_SASL_USERNAME,
#              PFAD_KAFKA_SASL_PASSWORD and PFAD_KAFKA_SSL_CA_LOCATION (the password: keep it so).
#   classpath  The classpath of the broker and tools (e.g. for ProducerPerformance).
#
# A replicated cluster, PFAD_KAFKA_BROKERS=N (N >= 3; 1, the default, is the single node above):
# N nodes, each a broker and a controller in one JVM (KRaft combined mode; the controller quorum
# is the N nodes, static voters), node n with its client listener on 127.0.0.1:<port + n - 1> and
# its controller listener on 127.0.0.1:<controller port + n - 1> (the controller ports default to
# <port + N> on: 9092-9094 and 9095-9097 for three), its own data, log and pid file under
# $PFAD_RUN/kafka/broker-<n>. Every topic (those of PFAD_KAFKA_TOPICS, the consumer offsets, and
# the ones clients create, e.g. pfad ingest's side topics) has replication factor 3 and
# min.insync.replicas 2: a write acknowledged with acks=all is on at least two nodes, and one node
# may die without losing or refusing anything. No SASL_SSL listener in this mode. For a second,
# private cluster next to the shared broker, set PFAD_RUN (the state) and PFAD_KAFKA_PORT (and
# PFAD_KAFKA_CONTROLLER_PORT) to a free range. For fault tests:
#   kill-broker N   KILL node N (no shutdown at all: kill -9), forget its pid.
#   stop-broker N   TERM node N (controlled shutdown), KILL after 30 s.
#   start-broker N  Start node N again (data kept) and wait until it listens; `start` also starts
#                   every node that is not running.
#
# State: $PFAD_RUN/kafka/{data,kafka.pid,kafka.log,server.properties} (a cluster: the same in
# $PFAD_RUN/kafka/broker-<n>/). Topics are not created automatically by producers
# (auto.create.topics.enable=false), so a typo is an error, not a new topic.
set -euo pipefail
source "$(dirname "$0")/../common.sh"

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$PFAD_ROOT/scripts/services/kafka/pom.xml")
KAFKA_HOME="$PFAD_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
BROKERS="${PFAD_KAFKA_BROKERS:-1}"
[[ $BROKERS =~ ^[0-9]+$ ]] && { ((BROKERS == 1)) || ((BROKERS >= 3 && BROKERS <= 9)); } ||
  die "PFAD_KAFKA_BROKERS must be 1 (one node) or 3 to 9 (a replicated cluster), got '$BROKERS'"
PORT="${PFAD_KAFKA_PORT:-9092}"
if ((BROKERS == 1)); then
  CONTROLLER_PORT="${PFAD_KAFKA_CONTROLLER_PORT:-9093}"
else
  CONTROLLER_PORT="${PFAD_KAFKA_CONTROLLER_PORT:-$((PORT + BROKERS))}"
fi
STATE="$PFAD_RUN/kafka"
PIDFILE="$STATE/kafka.pid"
LOG="$STATE/kafka.log"
TOPICS="${PFAD_KAFKA_TOPICS:-user_interactions:6 user_interactions.dlq:1 user_interactions.windows:1 user_interactions.labels:6 user_interactions.fraud:6}"
BOOTSTRAP="127.0.0.1:$PORT"
if ((BROKERS > 1)); then
  for ((n = 2; n <= BROKERS; n++)); do BOOTSTRAP+=",127.0.0.1:$((PORT + n - 1))"; done
  [[ ${PFAD_KAFKA_SASL_PORT:-0} == 0 ]] || die "no SASL_SSL listener in a cluster (PFAD_KAFKA_BROKERS=$BROKERS): unset PFAD_KAFKA_SASL_PORT"
  PFAD_KAFKA_SASL_PORT=0
fi
SASL_PORT="${PFAD_KAFKA_SASL_PORT:-$((PORT + 2))}"
SASL_USER="${PFAD_KAFKA_SASL_USER:-pfad}"
TLS="$STATE/tls"
START_TIMEOUT="${PFAD_KAFKA_START_TIMEOUT:-60}"  # seconds until the broker listens, and again until it acknowledges
mkdir -p "$STATE"

tool() {  # tool CLASS ARGS...: a Kafka tool in a quick-starting JVM
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="$PFAD_ROOT/scripts/services/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$STATE/tools" -cp "$KAFKA_LIBS/*" "$@"
}

install() {
  [[ -e $KAFKA_HOME/.complete ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka jars"
  log "resolving Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf "$KAFKA_LIBS"
  mvn -q -B -Dstyle.color=never -f "$PFAD_ROOT/scripts/services/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS" >"$STATE/mvn.log" 2>&1 || { cat "$STATE/mvn.log" >&2; die "could not resolve the Kafka jars (see above)"; }
  touch "$KAFKA_HOME/.complete"
}

pid() { pid_alive "$PIDFILE"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# make_tls: once, a CA, the broker's key and certificate (signed by the CA, for 127.0.0.1 and
# localhost: clients check the name) and the SCRAM user's random password.
make_tls() {
  [[ -s $TLS/broker.pem && -s $TLS/ca.pem && -s $TLS/password ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed for the SASL_SSL listener (or set PFAD_KAFKA_SASL_PORT=0)"
  rm -rf "$TLS"
  mkdir -p "$TLS"
  chmod 700 "$TLS"
  (
    cd "$TLS"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=PFAD local Kafka CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key -out broker.csr
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.crt
    # Kafka's PEM key store: the (unencrypted PKCS#8) key, then the certificate chain.
    cat broker.key broker.crt ca.pem > broker.pem
    openssl rand -hex 24 > password
    chmod 644 ca.pem
  ) >"$STATE/tls.log" 2>&1 || { cat "$STATE/tls.log" >&2; die "could not make the Kafka TLS files"; }
}

sasl_on() { [[ $SASL_PORT != 0 ]]; }

write_config() {
  local listeners="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if sasl_on; then
    listeners+=",SASL_SSL://127.0.0.1:$SASL_PORT"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat > "$STATE/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$STATE/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
CONF
  if sasl_on; then
    cat >> "$STATE/server.properties" <<CONF
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS/broker.pem
CONF
  fi
}

# add_scram_user: the SCRAM user for storage formatted before the SASL_SSL listener existed
# (the password goes in a file, not on a command line).
add_scram_user() {
  [[ -e $TLS/user-created ]] && return 0
  local file="$TLS/scram.properties"
  (umask 077; printf 'SCRAM-SHA-512=iterations=8192,password=%s\n' "$(cat "$TLS/password")" > "$file")
  tool kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter --entity-type users \
    --entity-name "$SASL_USER" --add-config-file "$file" >/dev/null || die "could not create the SCRAM user $SASL_USER"
  rm -f "$file"
  touch "$TLS/user-created"
}

healthy() {  # a real produce to the scratch topic, acknowledged by the broker
  echo "ok $(date +%s)" | tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$BOOTSTRAP" \
    --topic _pfad_health --sync --producer-property linger.ms=0 --producer-property acks=all --producer-property max.block.ms=5000 \
    --producer-property delivery.timeout.ms=8000 --producer-property request.timeout.ms=5000 >/dev/null 2>&1
}

create_topic() {  # create_topic NAME PARTITIONS
  tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor 1 >/dev/null
}

start() {
  install
  if [[ -n $(pid) ]]; then
    log "kafka already running (pid $(pid)) on $BOOTSTRAP"
    return 0
  fi
  port_open "$PORT" && die "port $PORT is taken by another process (set PFAD_KAFKA_PORT)"
  sasl_on && make_tls
  write_config
  if [[ ! -e $STATE/data/meta.properties ]]; then
    local id scram=()
    id=$(tool kafka.tools.StorageTool random-uuid)
    sasl_on && scram=(--add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$(cat "$TLS/password")]")
    tool kafka.tools.StorageTool format --standalone -t "$id" -c "$STATE/server.properties" "${scram[@]}" >/dev/null
    sasl_on && touch "$TLS/user-created"
  fi
  log "starting kafka $KAFKA_VERSION on $BOOTSTRAP"
  # The detached shell records its own pid, then becomes java (exec keeps the pid).
  detach "$PIDFILE" "$STATE/stdout.log" java -Xms256m -Xmx768m -XX:+UseG1GC \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$PFAD_ROOT/scripts/services/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$STATE" -cp "$KAFKA_LIBS/*" kafka.Kafka "$STATE/server.properties" ||
    die "the kafka process did not start"
  if ! wait_until "$START_TIMEOUT" port_open "$PORT"; then
    tail -n 20 "$LOG" "$STATE/stdout.log" >&2 || true
    stop >/dev/null 2>&1 || true
    die "kafka did not open $BOOTSTRAP within $START_TIMEOUT s (a busy machine: set PFAD_KAFKA_START_TIMEOUT)"
  fi
  sasl_on && add_scram_user
  create_topic _pfad_health 1
  local spec
  for spec in $TOPICS; do create_topic "${spec%%:*}" "${spec##*:}"; done
  if ! wait_until "$START_TIMEOUT" healthy; then
    tail -n 20 "$LOG" >&2 || true
    die "kafka on $BOOTSTRAP does not acknowledge produce requests"
  fi
  if sasl_on && ! wait_until "$START_TIMEOUT" port_open "$SASL_PORT"; then
    die "kafka does not listen on its SASL_SSL port 127.0.0.1:$SASL_PORT"
  fi
  log "kafka ready (pid $(pid)) on $BOOTSTRAP$(sasl_on && echo " and SASL_SSL 127.0.0.1:$SASL_PORT"), topics: $TOPICS"
}

stop() { stop_pidfile kafka "$PIDFILE" 30; }

# ---- A replicated cluster (PFAD_KAFKA_BROKERS=N > 1): node n = broker and controller n. ----
# Combined mode (each JVM both broker and controller) rather than separate controllers: N JVMs
# instead of N + 3 on a small test machine, and the same mode as the single node. Its cost: a
# node's death takes a controller with it, so two dead nodes of three lose the metadata quorum as
# well as min.insync.replicas; producers with acks=all are refused (and retry) either way.

REPLICATION=3
MIN_ISR=2

node_dir() { echo "$STATE/broker-$1"; }
node_port() { echo $((PORT + $1 - 1)); }
node_pid() { pid_alive "$(node_dir "$1")/kafka.pid"; }

node_number() {  # node_number ARG: ARG if it names a node of the cluster, else an error
  ((BROKERS > 1)) || die "$2 needs a cluster (PFAD_KAFKA_BROKERS=3)"
  [[ ${1:-} =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= BROKERS)) || die "$2 N: N is a node number from 1 to $BROKERS"
  echo "$1"
}

write_node_config() {  # write_node_config N
  local n=$1 dir voters="" i
  dir=$(node_dir "$n")
  for ((i = 1; i <= BROKERS; i++)); do voters+="${voters:+,}$i@127.0.0.1:$((CONTROLLER_PORT + i - 1))"; done
  mkdir -p "$dir"
  cat > "$dir/server.properties" <<CONF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(node_port "$n"),CONTROLLER://127.0.0.1:$((CONTROLLER_PORT + n - 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$(node_port "$n"),CONTROLLER://127.0.0.1:$((CONTROLLER_PORT + n - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
default.replication.factor=$REPLICATION
min.insync.replicas=$MIN_ISR
unclean.leader.election.enable=false
offsets.topic.replication.factor=$REPLICATION
transaction.state.log.replication.factor=$REPLICATION
transaction.state.log.min.isr=$MIN_ISR
share.coordinator.state.topic.replication.factor=$REPLICATION
share.coordinator.state.topic.min.isr=$MIN_ISR
group.initial.rebalance.delay.ms=0
log.retention.hours=24
CONF
}

# launch_node N: format node N's storage once (every node with the cluster's one id), start its
# JVM detached. Does not wait.
check_ports() {  # check_ports N: fails when a port of node N is taken
  local n=$1
  port_open "$(node_port "$n")" && die "port $(node_port "$n") of node $n is taken by another process (set PFAD_KAFKA_PORT)"
  port_open $((CONTROLLER_PORT + n - 1)) && die "controller port $((CONTROLLER_PORT + n - 1)) of node $n is taken (set PFAD_KAFKA_CONTROLLER_PORT)"
  return 0
}

launch_node() {
  local n=$1 dir
  dir=$(node_dir "$n")
  check_ports "$n"
  write_node_config "$n"
  [[ -s $STATE/cluster.id ]] || tool kafka.tools.StorageTool random-uuid > "$STATE/cluster.id"
  if [[ ! -e $dir/data/meta.properties ]]; then
    tool kafka.tools.StorageTool format -t "$(cat "$STATE/cluster.id")" -c "$dir/server.properties" >/dev/null
  fi
  detach "$dir/kafka.pid" "$dir/stdout.log" java -Xms256m -Xmx768m -XX:+UseG1GC \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$PFAD_ROOT/scripts/services/kafka/log4j2.properties" \
    -Dkafka.logs.dir="$dir" -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" ||
    die "the kafka process of node $n did not start"
}

stop_nodes() {  # stop_nodes N...: TERM the nodes at once (one by one, the last ones would wait for a lost quorum)
  local n
  for n in "$@"; do stop_pidfile "kafka node $n" "$(node_dir "$n")/kafka.pid" 30 & done
  wait
}

# wait_node N STARTED...: until node N listens; if it does not, stops the nodes this call
# started (STARTED), so a failed start leaves no JVM behind, and fails.
wait_node() {
  local n=$1
  shift
  if ! wait_until "$START_TIMEOUT" port_open "$(node_port "$n")"; then
    tail -n 20 "$(node_dir "$n")/kafka.log" "$(node_dir "$n")/stdout.log" >&2 || true
    stop_nodes "$@" >/dev/null 2>&1
    die "node $n did not open 127.0.0.1:$(node_port "$n") within $START_TIMEOUT s (a busy machine: set PFAD_KAFKA_START_TIMEOUT)"
  fi
}

cluster_start() {
  install
  local n started=() stopped=()
  for ((n = 1; n <= BROKERS; n++)); do
    [[ -n $(node_pid "$n") ]] || stopped+=("$n")
  done
  if ((${#stopped[@]} == 0)); then
    log "kafka cluster already running on $BOOTSTRAP"
    return 0
  fi
  # Every port checked before the first JVM starts: a taken one fails with nothing left running.
  for n in "${stopped[@]}"; do check_ports "$n"; done
  for n in "${stopped[@]}"; do launch_node "$n"; started+=("$n"); done
  log "starting kafka $KAFKA_VERSION node(s) ${started[*]} of a $BROKERS-node cluster on $BOOTSTRAP"
  for n in "${started[@]}"; do wait_node "$n" "${started[@]}"; done
  local spec
  for spec in _pfad_health:1 $TOPICS; do
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
      --topic "${spec%%:*}" --partitions "${spec##*:}" --replication-factor "$REPLICATION" \
      --config min.insync.replicas="$MIN_ISR" >/dev/null
  done
  if ! wait_until "$START_TIMEOUT" healthy; then
    tail -n 20 "$(node_dir 1)/kafka.log" >&2 || true
    stop_nodes "${started[@]}" >/dev/null 2>&1
    die "the kafka cluster on $BOOTSTRAP does not acknowledge produce requests (acks=all)"
  fi
  log "kafka cluster ready on $BOOTSTRAP ($BROKERS nodes, replication $REPLICATION, min.insync.replicas $MIN_ISR), topics: $TOPICS"
}

cluster_stop() {
  local n all=()
  for ((n = 1; n <= BROKERS; n++)); do all+=("$n"); done
  stop_nodes "${all[@]}"
}

cluster_status() {
  local n down=0 p
  for ((n = 1; n <= BROKERS; n++)); do
    p=$(node_pid "$n") || true
    if [[ -n $p ]] && port_open "$(node_port "$n")"; then
      echo "node $n running (pid $p) on 127.0.0.1:$(node_port "$n")"
    else
      echo "node $n stopped"
      down=1
    fi
  done
  return $((down * 3))
}

kill_node() {
  local n=$1 p pidfile
  pidfile="$(node_dir "$n")/kafka.pid"
  p=$(pid_alive "$pidfile") || die "node $n is not running"
  kill -KILL "$p"
  while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  rm -f "$pidfile"
  log "node $n killed (pid $p)"
}

start_node() {
  local n=$1
  install
  if [[ -n $(node_pid "$n") ]]; then
    log "node $n already running (pid $(node_pid "$n"))"
    return 0
  fi
  launch_node "$n"
  wait_node "$n" "$n"
  log "node $n running (pid $(node_pid "$n")) on 127.0.0.1:$(node_port "$n")"
}

if ((BROKERS > 1)); then
  case "${1:-}" in
    start) cluster_start; exit ;;
    stop) cluster_stop; exit ;;
    status) cluster_status; exit ;;
    sasl-env) die "no SASL_SSL listener in a cluster (PFAD_KAFKA_BROKERS=$BROKERS)" ;;
  esac
fi

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  kill-broker) n=$(node_number "${2:-}" kill-broker); kill_node "$n" ;;
  stop-broker) n=$(node_number "${2:-}" stop-broker); stop_pidfile "kafka node $n" "$(node_dir "$n")/kafka.pid" 30 ;;
  start-broker) n=$(node_number "${2:-}" start-broker); start_node "$n" ;;
  status)
    if [[ -n $(pid) ]] && port_open "$PORT"; then echo "running (pid $(pid)) on $BOOTSTRAP"; else echo stopped; exit 3; fi ;;
  env) echo "export PFAD_KAFKA_BOOTSTRAP=$BOOTSTRAP" ;;
  sasl-env)
    sasl_on || die "no SASL_SSL listener (PFAD_KAFKA_SASL_PORT=0)"
    [[ -s $TLS/password ]] || die "the SASL_SSL listener has not been set up yet: run kafka.sh start"
    echo "export PFAD_KAFKA_BOOTSTRAP=127.0.0.1:$SASL_PORT"
    echo "export PFAD_KAFKA_SECURITY_PROTOCOL=SASL_SSL"
    echo "export PFAD_KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
    echo "export PFAD_KAFKA_SASL_USERNAME=$SASL_USER"
    echo "export PFAD_KAFKA_SASL_PASSWORD=$(cat "$TLS/password")"
    echo "export PFAD_KAFKA_SSL_CA_LOCATION=$TLS/ca.pem" ;;
  classpath) install >&2; echo "$KAFKA_LIBS/*" ;;
  *) usage; exit 2 ;;
esac
