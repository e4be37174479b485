#!/usr/bin/env bash
# Run Apache Kafka (KRaft) from the official jars on 127.0.0.1.
#
#   kafka.sh resolve                      fetch the jars with Maven into deploy/kafka/.cache/lib
#   kafka.sh up   [--dir D] [--nodes N] [--port P]   start (idempotent) and wait until every broker answers
#   kafka.sh down [--dir D]               stop every broker of that cluster (SIGTERM, then SIGKILL)
#   kafka.sh kill NODE [--dir D]          SIGKILL one node (fault tests)
#   kafka.sh start NODE [--dir D]         start one formatted node again and wait for it
#   kafka.sh bootstrap [--dir D]          print the bootstrap servers of a running cluster
#
# Nodes combine the broker and controller roles. Node i (1-based) listens on P+2(i-1) for clients
# and P+2(i-1)+1 for the controller quorum. A cluster of N nodes uses replication factor min(N,3).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE="$HERE/.cache"
LIB="$CACHE/lib"
DIR="${WIREFEED_KAFKA_DIR:-$CACHE/run}"
NODES=1
PORT=9092
HEAP="${KAFKA_HEAP:--Xms128m -Xmx384m}"

die() { echo "kafka.sh: $*" >&2; exit 1; }

resolve() {
  if compgen -G "$LIB/kafka_2.13-*.jar" >/dev/null && compgen -G "$LIB/log4j-core-*.jar" >/dev/null; then
    return
  fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian package maven)"
  echo "kafka.sh: resolving Apache Kafka jars with Maven into $LIB" >&2
  (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB") \
    || die "Maven could not resolve the Kafka jars"
}

client_port() { echo $((PORT + 2 * ($1 - 1))); }
controller_port() { echo $((PORT + 2 * ($1 - 1) + 1)); }

write_config() {  # node
  local node=$1 voters="" rf=$((NODES < 3 ? NODES : 3)) isr i
  isr=$((rf > 1 ? 2 : 1))
  for i in $(seq 1 "$NODES"); do
    voters+="${voters:+,}$i@127.0.0.1:$(controller_port "$i")"
  done
  mkdir -p "$DIR/node$node"
  cat >"$DIR/node$node/server.properties" <<EOF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(client_port "$node"),CONTROLLER://127.0.0.1:$(controller_port "$node")
advertised.listeners=PLAINTEXT://127.0.0.1:$(client_port "$node")
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/node$node/data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
log.segment.bytes=67108864
unclean.leader.election.enable=false
EOF
}

java_args() {  # node: the JVM command line up to the main class
  local node=$1
  # shellcheck disable=SC2206  # HEAP holds several JVM flags on purpose
  JAVA_ARGS=(java $HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$HERE/log4j2.xml" -Dkafka.logs.dir="$DIR/node$node" -cp "$LIB/*")
}

alive() {  # node
  local pid_file="$DIR/node$1/pid"
  [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

answers() {  # node: the broker's client port accepts connections and the server finished starting
  (exec 3<>"/dev/tcp/127.0.0.1/$(client_port "$1")") 2>/dev/null \
    && grep -q "Kafka Server started" "$DIR/node$1/server.log" 2>/dev/null
}

format_node() {  # node
  [[ -f "$DIR/node$1/data/meta.properties" ]] && return
  java_args "$1"
  "${JAVA_ARGS[@]}" kafka.tools.StorageTool format --config "$DIR/node$1/server.properties" \
    --cluster-id "$(cat "$DIR/cluster-id")" --ignore-formatted >"$DIR/node$1/format.log" 2>&1 \
    || { cat "$DIR/node$1/format.log" >&2; die "formatting node $1 failed"; }
}

start_node() {  # node
  local node=$1
  alive "$node" && return
  : >"$DIR/node$node/server.log"
  java_args "$node"
  setsid nohup "${JAVA_ARGS[@]}" kafka.Kafka "$DIR/node$node/server.properties" \
    >"$DIR/node$node/stdout.log" 2>&1 </dev/null &
  echo $! >"$DIR/node$node/pid"
}

wait_node() {  # node
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-120}))
  until answers "$1"; do
    alive "$1" || { tail -n 40 "$DIR/node$1/stdout.log" "$DIR/node$1/server.log" >&2; die "node $1 exited"; }
    ((SECONDS < deadline)) || die "node $1 did not answer within ${KAFKA_START_TIMEOUT:-120}s"
    sleep 0.5
  done
}

load_layout() {
  if [[ -f "$DIR/layout" ]]; then
    # shellcheck disable=SC1091
    source "$DIR/layout"
  fi
}

up() {
  resolve
  mkdir -p "$DIR"
  if [[ -f "$DIR/layout" ]]; then
    local want_nodes=$NODES want_port=$PORT
    load_layout
    [[ $NODES == "$want_nodes" && $PORT == "$want_port" ]] \
      || die "$DIR already holds a cluster of $NODES node(s) on port $PORT; use another --dir or run down --wipe"
  else
    printf 'NODES=%s\nPORT=%s\n' "$NODES" "$PORT" >"$DIR/layout"
  fi
  if [[ ! -f "$DIR/cluster-id" ]]; then
    java_args 1
    "${JAVA_ARGS[@]}" kafka.tools.StorageTool random-uuid >"$DIR/cluster-id"
  fi
  for i in $(seq 1 "$NODES"); do write_config "$i"; format_node "$i"; start_node "$i"; done
  for i in $(seq 1 "$NODES"); do wait_node "$i"; done
  bootstrap
}

stop_node() {  # node signal
  local pid_file="$DIR/node$1/pid" pid
  [[ -f $pid_file ]] || return 0
  pid=$(cat "$pid_file")
  kill "-$2" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
  rm -f "$pid_file"
}

down() {
  load_layout
  [[ -d $DIR ]] || return 0
  for i in $(seq 1 "$NODES"); do stop_node "$i" TERM; done
  if [[ ${WIPE:-0} == 1 ]]; then rm -rf "$DIR"; fi
}

bootstrap() {
  load_layout
  local out="" i
  for i in $(seq 1 "$NODES"); do out+="${out:+,}127.0.0.1:$(client_port "$i")"; done
  echo "$out"
}

cmd=${1:-}; shift || true
NODE=""
if [[ $cmd == kill || $cmd == start ]]; then NODE=${1:?node number}; shift; fi
while (($#)); do
  case $1 in
    --dir) DIR=$2; shift 2 ;;
    --nodes) NODES=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --wipe) WIPE=1; shift ;;
    *) die "unknown argument $1" ;;
  esac
done

case $cmd in
  resolve) resolve ;;
  up) up ;;
  down) down ;;
  kill) load_layout; stop_node "$NODE" KILL ;;
  start) load_layout; resolve; start_node "$NODE"; wait_node "$NODE" ;;
  bootstrap) bootstrap ;;
  *) die "usage: kafka.sh resolve|up|down|kill N|start N|bootstrap [--dir D] [--nodes N] [--port P] [--wipe]" ;;
esac
