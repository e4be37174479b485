#!/usr/bin/env bash
# Run Apache Kafka (KRaft) from the official jars on 127.0.0.1.
#
#   kafka.sh resolve                      fetch the jars with Maven into deploy/kafka/.cache/lib
#   kafka.sh up   [--dir D] [--nodes N] [--port P] [--secure]   start (idempotent) and wait until every
#                                         broker answers; --secure: clients must use SASL_SSL (below)
#   kafka.sh down [--dir D]               stop every broker of that cluster (SIGTERM, then SIGKILL)
#   kafka.sh kill NODE [--dir D]          SIGKILL one node (fault tests)
#   kafka.sh start NODE [--dir D]         start one formatted node again and wait for it
#   kafka.sh bootstrap [--dir D]          print the bootstrap servers of a running cluster
#
# Nodes combine the broker and controller roles. Node i (1-based) listens on P+2(i-1) for clients
# and P+2(i-1)+1 for the controller quorum. A cluster of N nodes uses replication factor min(N,3).
#
# A --secure cluster is what production clusters look like to a client: TLS with a certificate for
# 127.0.0.1 (self-signed, made with keytool: D/tls/ca.pem), a client certificate required (mutual TLS;
# made with openssl, its key encrypted), and a SASL login, user "wirefeed" with a random password, by
# PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, or by OAUTHBEARER with a JWT signed by D/tls/oauth-key.pem (RS256,
# key id "wirefeed-test", audience "wirefeed-kafka"; the principal is its "sub"), as an identity provider
# would sign it. D/client.env holds the WIREFEED_KAFKA_* settings a client needs.
# Access is checked by ACLs (Kafka's StandardAuthorizer): "wirefeed" may do anything (a super user, as is
# the brokers' own login); a second SCRAM-SHA-512 user, "limited" (password in D/tls/limited-password),
# may do only what ACLs grant it, which tests create.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE="$HERE/.cache"
LIB="$CACHE/lib"
DIR="${WIREFEED_KAFKA_DIR:-$CACHE/run}"
NODES=1
PORT=9092
SECURE=0
HEAP="${KAFKA_HEAP:--Xms128m -Xmx384m}"

die() { echo "kafka.sh: $*" >&2; exit 1; }

resolve() {
  if compgen -G "$LIB/kafka_2.13-*.jar" >/dev/null && compgen -G "$LIB/log4j-core-*.jar" >/dev/null; then
    return
  fi
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian package maven)"
  echo "kafka.sh: resolving Apache Kafka jars with Maven into $LIB" >&2
  # Maven's output goes to stderr: even quiet, it writes colour resets to stdout, where `up` prints the
  # address callers read (a first start left "\e[0m\e[0m127.0.0.1:9092" there).
  (cd "$HERE" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB" 1>&2) \
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
  local client=PLAINTEXT
  ((SECURE)) && client=SASL_SSL
  cat >"$DIR/node$node/server.properties" <<EOF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=$client://127.0.0.1:$(client_port "$node"),CONTROLLER://127.0.0.1:$(controller_port "$node")
advertised.listeners=$client://127.0.0.1:$(client_port "$node")
controller.listener.names=CONTROLLER
listener.security.protocol.map=$client:$client,CONTROLLER:PLAINTEXT
inter.broker.listener.name=$client
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
  if ((SECURE)); then secure_config >>"$DIR/node$node/server.properties"; fi
}

secure_config() {  # the SASL_SSL listener's settings; the brokers log in to each other as "broker"
  local store broker user
  store=$(cat "$DIR/tls/store-password")
  broker=$(cat "$DIR/tls/broker-password")
  user=$(cat "$DIR/tls/client-password")
  cat <<EOF
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# The controller listener is plaintext on 127.0.0.1: the brokers reach it as ANONYMOUS.
super.users=User:broker;User:wirefeed;User:ANONYMOUS
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="$broker" user_broker="$broker" user_wirefeed="$user";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler
# Kafka 4.1 checks tokens' signatures (against the JWKS) only with this validator named, and top-level:
# its default, DefaultJwtValidator, checks none, and these settings under the listener's prefix are ignored.
sasl.oauthbearer.jwt.validator.class=org.apache.kafka.common.security.oauthbearer.BrokerJwtValidator
sasl.oauthbearer.jwks.endpoint.url=file://$DIR/tls/jwks.json
sasl.oauthbearer.expected.audience=wirefeed-kafka
ssl.keystore.type=PKCS12
ssl.keystore.location=$DIR/tls/broker.p12
ssl.keystore.password=$store
ssl.truststore.type=PKCS12
ssl.truststore.location=$DIR/tls/trust.p12
ssl.truststore.password=$store
# On a SASL_SSL listener Kafka asks for client certificates only when told under the listener's name (KIP-684).
listener.name.sasl_ssl.ssl.client.auth=required
EOF
}

make_tls() {  # a certificate for 127.0.0.1, passwords, and the client's settings (once per cluster)
  [[ -f "$DIR/client.env" ]] && return
  command -v keytool >/dev/null || die "keytool not found: it comes with Java (openjdk-17-jre-headless)"
  command -v openssl >/dev/null || die "openssl not found (Debian package openssl)"
  mkdir -p "$DIR/tls"
  local name pass
  for name in store broker client key limited; do
    head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DIR/tls/$name-password"
  done
  pass=$(cat "$DIR/tls/store-password")
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -dname CN=127.0.0.1 \
    -ext SAN=IP:127.0.0.1,DNS:localhost -validity 3650 -storetype PKCS12 \
    -keystore "$DIR/tls/broker.p12" -storepass "$pass" -keypass "$pass" >/dev/null 2>&1 \
    || die "keytool could not make the broker's certificate"
  keytool -exportcert -rfc -alias broker -keystore "$DIR/tls/broker.p12" -storepass "$pass" \
    -file "$DIR/tls/ca.pem" >/dev/null 2>&1
  keytool -importcert -noprompt -alias ca -file "$DIR/tls/ca.pem" -storetype PKCS12 \
    -keystore "$DIR/tls/trust.p12" -storepass "$pass" >/dev/null 2>&1
  # The client's certificate, self-signed too, is what the broker's truststore trusts for clients.
  openssl req -x509 -newkey rsa:2048 -subj /CN=wirefeed -days 3650 -keyout "$DIR/tls/client.key" \
    -passout "file:$DIR/tls/key-password" -out "$DIR/tls/client.pem" >/dev/null 2>&1 \
    || die "openssl could not make the client's certificate"
  keytool -importcert -noprompt -alias client -file "$DIR/tls/client.pem" -storetype PKCS12 \
    -keystore "$DIR/tls/trust.p12" -storepass "$pass" >/dev/null 2>&1
  # The identity provider's signing key for OAUTHBEARER, and its public half as the JWKS brokers check with.
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/tls/oauth-key.pem" >/dev/null 2>&1 \
    || die "openssl could not make the OAuth signing key"
  openssl rsa -in "$DIR/tls/oauth-key.pem" -noout -modulus | cut -d= -f2 | python3 -c '
import base64, json, sys
modulus = bytes.fromhex(sys.stdin.read().strip())
n = base64.urlsafe_b64encode(modulus).rstrip(b"=").decode()
print(json.dumps({"keys": [{"kty": "RSA", "kid": "wirefeed-test", "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"}]}))
' >"$DIR/tls/jwks.json" || die "python3 could not write the JWKS"
  cat >"$DIR/client.env" <<EOF
WIREFEED_KAFKA_SECURITY_PROTOCOL=SASL_SSL
WIREFEED_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
WIREFEED_KAFKA_SASL_USERNAME=wirefeed
WIREFEED_KAFKA_SASL_PASSWORD=$(cat "$DIR/tls/client-password")
WIREFEED_KAFKA_SSL_CAFILE=$DIR/tls/ca.pem
WIREFEED_KAFKA_SSL_CERTFILE=$DIR/tls/client.pem
WIREFEED_KAFKA_SSL_KEYFILE=$DIR/tls/client.key
WIREFEED_KAFKA_SSL_KEY_PASSWORD=$(cat "$DIR/tls/key-password")
EOF
}

java_args() {  # node: the JVM command line up to the main class
  local node=$1
  # shellcheck disable=SC2206  # HEAP holds several JVM flags on purpose
  JAVA_ARGS=(java $HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    -Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="file://$DIR/tls/jwks.json"
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
  local scram=() user mechanism
  if ((SECURE)); then
    user=$(cat "$DIR/tls/client-password")
    for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
      scram+=(--add-scram "$mechanism=[name=wirefeed,password=$user]")
    done
    scram+=(--add-scram "SCRAM-SHA-512=[name=limited,password=$(cat "$DIR/tls/limited-password")]")
  fi
  "${JAVA_ARGS[@]}" kafka.tools.StorageTool format --config "$DIR/node$1/server.properties" \
    --cluster-id "$(cat "$DIR/cluster-id")" --ignore-formatted "${scram[@]}" >"$DIR/node$1/format.log" 2>&1 \
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
    local want_nodes=$NODES want_port=$PORT want_secure=$SECURE
    load_layout
    [[ $NODES == "$want_nodes" && $PORT == "$want_port" && $SECURE == "$want_secure" ]] \
      || die "$DIR already holds another cluster ($NODES node(s) on port $PORT, secure=$SECURE); use another --dir or run down --wipe"
  else
    printf 'NODES=%s\nPORT=%s\nSECURE=%s\n' "$NODES" "$PORT" "$SECURE" >"$DIR/layout"
  fi
  if ((SECURE)); then make_tls; fi
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
    --secure) SECURE=1; shift ;;
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
  *) die "usage: kafka.sh resolve|up|down|kill N|start N|bootstrap [--dir D] [--nodes N] [--port P] [--wipe] [--secure]" ;;
esac
