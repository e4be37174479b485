#!/usr/bin/env bash
# Make a local PostgreSQL (Debian's packages) answer on 127.0.0.1:5432 with a `wirefeed` role and
# databases `wirefeed` and `wirefeed_test`, and install PgBouncer (tests start their own). Idempotent:
# installs only when absent, starts only when down.
#
#   postgres.sh up      install if needed, start, create role and databases, print the test URL
#   postgres.sh stop    stop the cluster (fault tests)
#   postgres.sh start   start it again
# Options: --cluster NAME --port P select (and create) a separate cluster, e.g. for fault tests that
# stop their database without disturbing anyone else's.
set -euo pipefail

USER_NAME=wirefeed
PASSWORD=${WIREFEED_PG_PASSWORD:-wirefeed}
CLUSTER=main
PORT=5432

die() { echo "postgres.sh: $*" >&2; exit 1; }

install() {
  local missing=()
  command -v pg_ctlcluster >/dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null \
    || missing+=(postgresql)
  # The tests also run wirefeed behind PgBouncer in transaction mode, as many production sites do.
  command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
  ((${#missing[@]})) || return 0
  if [[ $(id -u) != 0 ]]; then
    [[ ${missing[0]} == pgbouncer ]] || die "PostgreSQL is not installed; run as root or: sudo apt-get install postgresql"
    echo "postgres.sh: pgbouncer is not installed, which its tests need: sudo apt-get install pgbouncer" >&2
    return 0
  fi
  echo "postgres.sh: installing Debian's ${missing[*]}" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

cluster() {  # prints "version name port" of the chosen cluster (default: main), creating it if absent
  local line version
  line=$(pg_lsclusters --no-header | awk -v n="$CLUSTER" '$2==n' | sort -V | tail -n 1)
  if [[ -z $line ]]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    pg_createcluster "$version" "$CLUSTER" -p "$PORT" >/dev/null
    line=$(pg_lsclusters --no-header | awk -v n="$CLUSTER" '$2==n' | head -n 1)
  fi
  awk '{print $1, $2, $3}' <<<"$line"
}

start() {
  read -r version name PORT < <(cluster)
  if ! pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1==v && $2==n {print $4}' | grep -q online; then
    pg_ctlcluster "$version" "$name" start
  fi
  local deadline=$((SECONDS + 60))
  until pg_isready -q -h 127.0.0.1 -p "$PORT"; do
    ((SECONDS < deadline)) || die "PostgreSQL did not answer within 60s"
    sleep 0.3
  done
}

as_postgres() { runuser -u postgres -- "$@" -p "$PORT"; }

provision() {
  as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$USER_NAME') THEN
    CREATE ROLE $USER_NAME LOGIN PASSWORD '$PASSWORD' CREATEDB;
  END IF;
END \$\$;
SQL
  for db in wirefeed wirefeed_test; do
    as_postgres psql -tA -d postgres -c "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || as_postgres createdb -O "$USER_NAME" "$db"
  done
}

cmd=${1:-}; shift || true
while (($#)); do
  case $1 in
    --cluster) CLUSTER=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done

case $cmd in
  up) install; start; provision; echo "postgresql://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/wirefeed_test" ;;
  stop) read -r version name PORT < <(cluster); pg_ctlcluster "$version" "$name" stop -m fast ;;
  start) start ;;
  *) die "usage: postgres.sh up|stop|start" ;;
esac
