#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the storage tests and prints its URL.
# Usage: eval "$(.ci/postgres.sh start DIR PORT)"; ... ; .ci/postgres.sh stop DIR
# Installs the server from Debian packages when it is missing; runs it as an unprivileged user (initdb and
# postgres refuse root).
set -euo pipefail
action=$1
dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  if [ "$action" = stop ]; then exit 0; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
run_as() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
case "$action" in
  start)
    port=$3
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    run_as "$bin/initdb" -D "$dir/data" -U switchyard --auth=trust >/dev/null
    run_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    run_as "$bin/createdb" -h 127.0.0.1 -p "$port" -U switchyard switchyard_test
    echo "export SWITCHYARD_TEST_POSTGRES_URL=postgres://switchyard@127.0.0.1:$port/switchyard_test"
    ;;
  stop)
    run_as "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
esac
