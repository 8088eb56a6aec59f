#!/usr/bin/env bash
# Agora's test environment: real Apache Kafka (single KRaft node), PostgreSQL,
# Redis and moto (the AWS API emulator) on 127.0.0.1.
#
#   scripts/testenv.sh up      start what is missing, reuse what runs, write the env file
#   scripts/testenv.sh down    stop exactly what this script started
#   scripts/testenv.sh status  show what runs
#   scripts/testenv.sh env     print the env file
#   scripts/testenv.sh path    print where the env file is written
#
# An endpoint already given in the environment (AGORA_TEST_KAFKA_BROKERS,
# AGORA_TEST_POSTGRES_URL, AGORA_TEST_REDIS_ADDR, AGORA_TEST_AWS_ENDPOINT) is
# used as it is: the script only checks that it serves.
#
# Downloads (Kafka jars, the moto virtualenv) are cached under
# $AGORA_CACHE_DIR (default ~/.cache/agora); data, logs and pid files live
# under $AGORA_TESTENV_RUN_DIR (default /tmp/agora-testenv-<uid>).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${AGORA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agora}
STATE_DIR=$CACHE_DIR/testenv
RUN_DIR=${AGORA_TESTENV_RUN_DIR:-${TMPDIR:-/tmp}/agora-testenv-$(id -u)}
ENV_FILE=${AGORA_TEST_ENV_FILE:-$STATE_DIR/env}
PROBE=$ROOT/bin/testenv-probe

HOST=127.0.0.1
KAFKA_PORT=${AGORA_TESTENV_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${AGORA_TESTENV_KAFKA_CONTROLLER_PORT:-19093}
KAFKA_HEAP=${AGORA_TESTENV_KAFKA_HEAP:-512m}
PG_PORT=${AGORA_TESTENV_POSTGRES_PORT:-15432}
PG_DB=${AGORA_TESTENV_POSTGRES_DB:-agora_test}
PG_ROLE=${AGORA_TESTENV_POSTGRES_USER:-agora}
PG_PASSWORD=${AGORA_TESTENV_POSTGRES_PASSWORD:-agora-test}
REDIS_PORT=${AGORA_TESTENV_REDIS_PORT:-16379}
MOTO_PORT=${AGORA_TESTENV_MOTO_PORT:-15000}
MOTO_VERSION=$(sed -n 's/^moto\[server\]==//p' "$ROOT/scripts/moto/requirements.txt")
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/scripts/kafka/pom.xml")

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: ERROR: %s\n' "$*" >&2; exit 1; }

# fail NAME LOGFILE MESSAGE: name the dependency, show the tail of its log.
fail() {
  printf 'testenv: ERROR: %s: %s\n' "$1" "$3" >&2
  if [ -n "$2" ] && [ -f "$2" ]; then
    printf -- '--- last lines of %s ---\n' "$2" >&2
    tail -n 40 "$2" >&2
    printf -- '---\n' >&2
  fi
  exit 1
}

# alive PIDFILE [PATTERN]: the pid file names a live process (whose command
# line contains PATTERN, so that a pid reused after a crash does not count).
alive() {
  [ -f "$1" ] || return 1
  local pid
  pid=$(head -n 1 "$1")
  kill -0 "$pid" 2>/dev/null || return 1
  [ -z "${2:-}" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# stop_pid NAME PIDFILE [PATTERN]: TERM, wait up to 30 s, then KILL.
stop_pid() {
  local name=$1 pidfile=$2 pid
  alive "$pidfile" "${3:-}" || { rm -f "$pidfile"; return 0; }
  pid=$(head -n 1 "$pidfile")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

build_probe() {
  mkdir -p "$ROOT/bin"
  (cd "$ROOT" && go build -o "$PROBE" ./scripts/probe) || die "cannot build the probe (scripts/probe); is Go installed?"
}

# ---------------------------------------------------------------- packages

# ensure_packages installs the distribution packages that the dependencies
# still missing need, in one apt-get run (as root), or says what to install.
ensure_packages() {
  local missing=()
  if [ -z "${AGORA_TEST_KAFKA_BROKERS:-}" ]; then
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null || missing+=(maven)
  fi
  if [ -z "${AGORA_TEST_POSTGRES_URL:-}" ] && [ -z "$(pg_bindir)" ]; then missing+=(postgresql); fi
  if [ -z "${AGORA_TEST_REDIS_ADDR:-}" ] && ! command -v redis-server >/dev/null; then missing+=(redis-server); fi
  if [ -z "${AGORA_TEST_AWS_ENDPOINT:-}" ]; then
    command -v python3 >/dev/null || missing+=(python3)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root || ! command -v apt-get >/dev/null; then
    die "missing packages: ${missing[*]}. Install them (e.g. 'sudo apt-get install ${missing[*]}') or point the tests at running services (see README)."
  fi
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$RUN_DIR/apt.log" 2>&1 || fail apt "$RUN_DIR/apt.log" "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$RUN_DIR/apt.log" 2>&1 ||
    fail apt "$RUN_DIR/apt.log" "apt-get install ${missing[*]} failed"
}

pg_bindir() {
  local d
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null; then dirname "$(readlink -f "$(command -v initdb)")"; fi
}

# ------------------------------------------------------------------- kafka

kafka_up() {
  local dir=$RUN_DIR/kafka pidfile=$RUN_DIR/kafka/kafka.pid brokers=$HOST:$KAFKA_PORT
  if [ -n "${AGORA_TEST_KAFKA_BROKERS:-}" ]; then
    "$PROBE" -wait 60s kafka "$AGORA_TEST_KAFKA_BROKERS" >"$STATE_DIR/kafka.version" 2>"$RUN_DIR/kafka-probe.log" ||
      fail kafka "$RUN_DIR/kafka-probe.log" "the configured brokers $AGORA_TEST_KAFKA_BROKERS do not serve"
    echo "$AGORA_TEST_KAFKA_BROKERS" >"$STATE_DIR/kafka.endpoint"
    return
  fi
  mkdir -p "$dir/data"
  if ! alive "$pidfile" kafka.Kafka && port_open "$KAFKA_PORT"; then
    "$PROBE" -wait 20s kafka "$brokers" >"$STATE_DIR/kafka.version" 2>"$RUN_DIR/kafka-probe.log" ||
      fail kafka "$RUN_DIR/kafka-probe.log" "port $KAFKA_PORT is taken by something that is not a working Kafka broker"
    log "kafka: reusing the broker already on $brokers"
  elif ! alive "$pidfile" kafka.Kafka; then
    kafka_jars
    kafka_config "$dir"
    if [ ! -f "$dir/data/meta.properties" ]; then
      local cluster_id
      cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
      java -cp "$KAFKA_LIB/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" \
        kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
        fail kafka "$dir/format.log" "formatting the KRaft storage failed"
    fi
    log "kafka: starting Apache Kafka $KAFKA_VERSION (KRaft) on $brokers"
    # shellcheck disable=SC2086
    setsid nohup java -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$KAFKA_LIB/*" \
      kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  "$PROBE" -wait 120s kafka "$brokers" >"$STATE_DIR/kafka.version" 2>"$RUN_DIR/kafka-probe.log" || {
    cat "$RUN_DIR/kafka-probe.log" >>"$dir/kafka.log" 2>/dev/null || true
    fail kafka "$dir/kafka.log" "the broker on $brokers did not serve a produce/consume round trip"
  }
  echo "$brokers" >"$STATE_DIR/kafka.endpoint"
}

# kafka_jars resolves the broker jars from Maven Central into the cache once.
kafka_jars() {
  KAFKA_LIB=$CACHE_DIR/kafka-$KAFKA_VERSION/lib
  local stamp=$KAFKA_LIB/.pom.sha256 want
  want=$(sha256sum "$ROOT/scripts/kafka/pom.xml" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "kafka: resolving the Kafka $KAFKA_VERSION broker jars from Maven Central (cached afterwards)"
  rm -rf "$KAFKA_LIB" && mkdir -p "$KAFKA_LIB"
  mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIB" -DincludeScope=runtime >"$RUN_DIR/kafka-maven.log" 2>&1 ||
    fail kafka "$RUN_DIR/kafka-maven.log" "mvn could not resolve the broker jars"
  echo "$want" >"$stamp"
}

kafka_config() {
  local dir=$1
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
EOF
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
EOF
}

# -------------------------------------------------------------- postgresql

pg_as() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_up() {
  local dir=$RUN_DIR/postgres url bindir
  url="postgres://$PG_ROLE:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DB?sslmode=disable"
  if [ -n "${AGORA_TEST_POSTGRES_URL:-}" ]; then
    "$PROBE" -wait 60s postgres "$AGORA_TEST_POSTGRES_URL" >/dev/null 2>"$RUN_DIR/postgres-probe.log" ||
      fail postgres "$RUN_DIR/postgres-probe.log" "the configured AGORA_TEST_POSTGRES_URL does not serve"
    echo "$AGORA_TEST_POSTGRES_URL" >"$STATE_DIR/postgres.endpoint"
    return
  fi
  bindir=$(pg_bindir)
  [ -n "$bindir" ] || die "postgres: initdb not found; install PostgreSQL (apt-get install postgresql)"
  if is_root; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  mkdir -p "$dir"
  is_root && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "postgres: initialising a data directory in $dir/data"
    pg_as "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
      fail postgres "$dir/initdb.log" "initdb failed"
  fi
  if ! port_open "$PG_PORT"; then
    # Nothing listens: a postmaster.pid left by a killed server is stale.
    rm -f "$dir/data/postmaster.pid"
    log "postgres: starting $("$bindir/postgres" --version) on $HOST:$PG_PORT"
    pg_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=$HOST -p $PG_PORT -k $dir -c max_connections=200" start >/dev/null 2>&1 ||
      fail postgres "$dir/postgres.log" "pg_ctl start failed"
  elif [ ! -S "$dir/.s.PGSQL.$PG_PORT" ]; then
    fail postgres "" "port $PG_PORT is taken by another process; set AGORA_TESTENV_POSTGRES_PORT or AGORA_TEST_POSTGRES_URL"
  fi
  # The dedicated role and database for tests.
  local psql=("$bindir/psql" -h "$dir" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$(pg_as "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != 1 ]; then
    pg_as "${psql[@]}" -c "CREATE ROLE \"$PG_ROLE\" LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >/dev/null
  fi
  if [ "$(pg_as "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
    pg_as "${psql[@]}" -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_ROLE\"" >/dev/null
  fi
  "$PROBE" -wait 60s postgres "$url" >/dev/null 2>"$RUN_DIR/postgres-probe.log" || {
    cat "$RUN_DIR/postgres-probe.log" >>"$dir/postgres.log"
    fail postgres "$dir/postgres.log" "SELECT 1 failed on $HOST:$PG_PORT"
  }
  echo "$url" >"$STATE_DIR/postgres.endpoint"
}

postgres_down() {
  local dir=$RUN_DIR/postgres bindir
  [ -f "$dir/data/postmaster.pid" ] || return 0
  bindir=$(pg_bindir)
  log "stopping postgres"
  pg_as "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || stop_pid postgres "$dir/data/postmaster.pid"
}

# ------------------------------------------------------------------- redis

redis_up() {
  local dir=$RUN_DIR/redis addr=$HOST:$REDIS_PORT
  if [ -n "${AGORA_TEST_REDIS_ADDR:-}" ]; then
    "$PROBE" -wait 60s redis "$AGORA_TEST_REDIS_ADDR" >/dev/null 2>"$RUN_DIR/redis-probe.log" ||
      fail redis "$RUN_DIR/redis-probe.log" "the configured AGORA_TEST_REDIS_ADDR does not answer PING"
    echo "$AGORA_TEST_REDIS_ADDR" >"$STATE_DIR/redis.endpoint"
    return
  fi
  mkdir -p "$dir"
  if ! alive "$dir/redis.pid" redis-server; then
    port_open "$REDIS_PORT" && fail redis "" "port $REDIS_PORT is taken by another process; set AGORA_TESTENV_REDIS_PORT or AGORA_TEST_REDIS_ADDR"
    log "redis: starting $(redis-server --version | cut -d' ' -f3) on $addr"
    redis-server --bind "$HOST" --port "$REDIS_PORT" --daemonize yes --pidfile "$dir/redis.pid" \
      --logfile "$dir/redis.log" --dir "$dir" --save '' --appendonly no >"$dir/start.log" 2>&1 ||
      fail redis "$dir/start.log" "redis-server did not start"
  fi
  "$PROBE" -wait 30s redis "$addr" >/dev/null 2>"$RUN_DIR/redis-probe.log" || {
    cat "$RUN_DIR/redis-probe.log" >>"$dir/redis.log"
    fail redis "$dir/redis.log" "PING failed on $addr"
  }
  echo "$addr" >"$STATE_DIR/redis.endpoint"
}

# -------------------------------------------------------------------- moto

moto_up() {
  local dir=$RUN_DIR/moto endpoint=http://$HOST:$MOTO_PORT venv=$CACHE_DIR/moto-$MOTO_VERSION
  if [ -n "${AGORA_TEST_AWS_ENDPOINT:-}" ]; then
    "$PROBE" -wait 60s aws "$AGORA_TEST_AWS_ENDPOINT" >/dev/null 2>"$RUN_DIR/moto-probe.log" ||
      fail aws "$RUN_DIR/moto-probe.log" "the configured AGORA_TEST_AWS_ENDPOINT does not answer DynamoDB ListTables"
    echo "$AGORA_TEST_AWS_ENDPOINT" >"$STATE_DIR/aws.endpoint"
    return
  fi
  mkdir -p "$dir"
  if ! alive "$dir/moto.pid" moto_server; then
    port_open "$MOTO_PORT" && fail aws "" "port $MOTO_PORT is taken by another process; set AGORA_TESTENV_MOTO_PORT or AGORA_TEST_AWS_ENDPOINT"
    local stamp=$venv/.requirements.sha256 want
    want=$(sha256sum "$ROOT/scripts/moto/requirements.txt" | cut -d' ' -f1)
    if [ ! -x "$venv/bin/moto_server" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      log "moto: installing moto $MOTO_VERSION into $venv (cached afterwards)"
      rm -rf "$venv"
      { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check \
        -r "$ROOT/scripts/moto/requirements.txt"; } >"$RUN_DIR/moto-pip.log" 2>&1 ||
        fail aws "$RUN_DIR/moto-pip.log" "installing moto failed"
      echo "$want" >"$stamp"
    fi
    log "moto: starting moto $MOTO_VERSION on $endpoint"
    setsid nohup "$venv/bin/moto_server" -H "$HOST" -p "$MOTO_PORT" >"$dir/moto.log" 2>&1 </dev/null &
    echo $! >"$dir/moto.pid"
  fi
  "$PROBE" -wait 60s aws "$endpoint" >/dev/null 2>"$RUN_DIR/moto-probe.log" || {
    cat "$RUN_DIR/moto-probe.log" >>"$dir/moto.log"
    fail aws "$dir/moto.log" "DynamoDB ListTables failed on $endpoint"
  }
  echo "$endpoint" >"$STATE_DIR/aws.endpoint"
}

# -------------------------------------------------------------- commands

up() {
  local started=$SECONDS
  mkdir -p "$STATE_DIR" "$RUN_DIR"
  chmod 755 "$RUN_DIR"
  rm -f "$STATE_DIR"/*.endpoint "$ENV_FILE"
  ensure_packages
  build_probe
  # Start the four in parallel; each writes its endpoint file when it serves.
  local pids=() names=(kafka postgres redis moto) failed=()
  kafka_up & pids+=($!)
  postgres_up & pids+=($!)
  redis_up & pids+=($!)
  moto_up & pids+=($!)
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
  [ ${#failed[@]} -eq 0 ] || die "could not bring up: ${failed[*]} (see the errors above)"

  local tmp=$ENV_FILE.tmp
  {
    echo "# Written by scripts/testenv.sh at $(date -u +%FT%TZ); endpoints of the test dependencies."
    echo "AGORA_TEST_KAFKA_BROKERS=$(cat "$STATE_DIR/kafka.endpoint")"
    echo "AGORA_TEST_POSTGRES_URL=$(cat "$STATE_DIR/postgres.endpoint")"
    echo "AGORA_TEST_REDIS_ADDR=$(cat "$STATE_DIR/redis.endpoint")"
    echo "AGORA_TEST_AWS_ENDPOINT=$(cat "$STATE_DIR/aws.endpoint")"
    echo "AGORA_TEST_AWS_REGION=${AGORA_TEST_AWS_REGION:-us-east-1}"
    echo "AGORA_TEST_AWS_ACCESS_KEY_ID=${AGORA_TEST_AWS_ACCESS_KEY_ID:-test}"
    echo "AGORA_TEST_AWS_SECRET_ACCESS_KEY=${AGORA_TEST_AWS_SECRET_ACCESS_KEY:-test}"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
  log "ready in $((SECONDS - started)) s: Kafka $(cat "$STATE_DIR/kafka.version"), PostgreSQL, Redis, moto; endpoints in $ENV_FILE"
}

down() {
  stop_pid kafka "$RUN_DIR/kafka/kafka.pid" kafka.Kafka
  stop_pid moto "$RUN_DIR/moto/moto.pid" moto_server
  stop_pid redis "$RUN_DIR/redis/redis.pid" redis-server
  postgres_down
  rm -f "$ENV_FILE" "$STATE_DIR"/*.endpoint
  log "stopped"
}

status() {
  local name pidfile
  for name in kafka/kafka moto/moto redis/redis postgres/data/postmaster; do
    pidfile=$RUN_DIR/$name.pid
    if alive "$pidfile"; then echo "${name%%/*}: running (pid $(head -n 1 "$pidfile"))"; else echo "${name%%/*}: not started by testenv"; fi
  done
  [ -f "$ENV_FILE" ] && cat "$ENV_FILE"
  return 0
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  path) echo "$ENV_FILE" ;;
  env) [ -f "$ENV_FILE" ] || die "no env file at $ENV_FILE; run '$0 up'"; cat "$ENV_FILE" ;;
  *) echo "usage: $0 up|down|status|env|path" >&2; exit 2 ;;
esac
