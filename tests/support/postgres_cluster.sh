#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: initdb into a fresh /tmp directory (as the
# postgres user when run as root), pg_ctl on a free 127.0.0.1 port with its unix socket in that
# directory, a login role "runvoy" (CREATEDB, trust auth) and a database "runvoy".
#
#   postgres_cluster.sh start <state_dir>     create and start; writes <state_dir>/dsn (one line,
#                                             the DSN of database "runvoy") and prints the DSN
#   postgres_cluster.sh stop <state_dir>      stop the server (pg_ctl, then its PID) and remove
#                                             the cluster and <state_dir>/dsn
#   postgres_cluster.sh stop-server <state_dir>    stop the server, keep the cluster
#   postgres_cluster.sh start-server <state_dir>   start it again on the same port
#   postgres_cluster.sh restart <state_dir>        pg_ctl restart (fast mode)
#
# <state_dir> also holds "datadir" (the cluster's directory) and "port".
set -euo pipefail

command_name=${1:-}
state=${2:-}
if [[ -z "$command_name" || -z "$state" ]]; then
  echo "usage: $0 start|stop|stop-server|start-server|restart <state_dir>" >&2
  exit 2
fi

bindir=${RUNVOY_PG_BINDIR:-}
if [[ -z "$bindir" ]]; then
  for candidate in /usr/lib/postgresql/*/bin; do
    [[ -x "$candidate/pg_ctl" ]] && bindir=$candidate
  done
fi
if [[ -z "$bindir" || ! -x "$bindir/pg_ctl" ]]; then
  echo "postgres_cluster: no PostgreSQL server binaries (apt-get install postgresql)" >&2
  exit 1
fi

# Runs a server binary as the postgres user when we are root (initdb refuses root).
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

server_options() {
  local dir=$1 port=$2
  echo "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off" \
    "-c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB"
}

start_server() {
  local dir=$1 port=$2
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "$(server_options "$dir" "$port")" start >/dev/null
}

port_in_use() {
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

stop_server() {
  local dir=$1
  [[ -d "$dir/data" ]] || return 0
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  # pg_ctl gave up: end the postmaster by its PID.
  local pid
  pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

case "$command_name" in
  start)
    mkdir -p "$state"
    # A cluster left behind by an interrupted run of the same state dir: stop it first.
    old=$(cat "$state/datadir" 2>/dev/null || true)
    if [[ -n "$old" && "$old" == /tmp/runvoy-pg-* ]]; then
      stop_server "$old"
      rm -rf "$old"
    fi
    dir=$(mktemp -d /tmp/runvoy-pg-XXXXXX)
    chmod 755 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
    echo "$dir" >"$state/datadir"
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    started=""
    for _ in $(seq 1 20); do
      port=$((20000 + RANDOM % 30000))
      port_in_use "$port" && continue
      if start_server "$dir" "$port"; then
        started=$port
        break
      fi
    done
    if [[ -z "$started" ]]; then
      echo "postgres_cluster: the server did not start; log:" >&2
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
    echo "$started" >"$state/port"
    "$bindir/psql" -h 127.0.0.1 -p "$started" -U postgres -d postgres -v ON_ERROR_STOP=1 -qX \
      -c "CREATE ROLE runvoy LOGIN CREATEDB" -c "CREATE DATABASE runvoy OWNER runvoy" >/dev/null
    dsn="host=127.0.0.1 port=$started user=runvoy dbname=runvoy"
    echo "$dsn" >"$state/dsn.tmp"
    mv "$state/dsn.tmp" "$state/dsn"
    echo "$dsn"
    ;;
  stop)
    dir=$(cat "$state/datadir" 2>/dev/null || true)
    rm -f "$state/dsn"
    if [[ -n "$dir" && "$dir" == /tmp/runvoy-pg-* ]]; then
      stop_server "$dir"
      rm -rf "$dir"
    fi
    rm -f "$state/datadir" "$state/port"
    ;;
  stop-server)
    stop_server "$(cat "$state/datadir")"
    ;;
  start-server)
    start_server "$(cat "$state/datadir")" "$(cat "$state/port")"
    ;;
  restart)
    dir=$(cat "$state/datadir")
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 \
      -o "$(server_options "$dir" "$(cat "$state/port")")" restart >/dev/null
    ;;
  *)
    echo "postgres_cluster: unknown command $command_name" >&2
    exit 2
    ;;
esac
