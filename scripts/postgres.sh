#!/usr/bin/env bash
# A throw-away local PostgreSQL server for the portability tests and demos (issue 8).
#
#   scripts/postgres.sh install              apt-get install postgresql (Debian package) when missing
#   scripts/postgres.sh start DIR [PORT]     install if needed, initdb DIR (once), start on 127.0.0.1:PORT
#                                            (a free port when omitted), create role+database `lifecycle`,
#                                            print the connection as KEY=VALUE lines (also in DIR/connection.env)
#   scripts/postgres.sh stop DIR             fast shutdown of the server in DIR (no-op when not running)
#
# Idempotent: `start` on a running cluster only prints its connection; `stop` on a stopped one does nothing.
# Why a private cluster instead of the distro's `main` one: tests must not depend on (or disturb) a system
# service, and a cluster under a temp dir disappears with it. Durability is switched off (fsync, full page
# writes): this server only ever holds reproducible test copies, and it makes loading and dbt runs faster.
# As root the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

pg_bindir() {
  local d
  # Newest installed major version wins.
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
}

install_pg() {
  if pg_bindir >/dev/null; then return 0; fi
  echo "postgres.sh: installing the Debian postgresql package" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "postgresql is not installed and there is no sudo to install it"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null || die "apt-get update failed (is a package mirror reachable?)"
  $sudo apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null \
    || die "apt-get install postgresql failed"
  # The package starts a system cluster on 5432; we never use it, but leave it as the package set it up.
  pg_bindir >/dev/null || die "postgresql installed but initdb/pg_ctl not found under /usr/lib/postgresql"
}

# Run a command as the cluster owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

print_connection() {
  local dir=$1 port=$2
  cat >"$dir/connection.env" <<EOF
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=lifecycle
PGPASSWORD=lifecycle
PGDATABASE=lifecycle
EOF
  cat "$dir/connection.env"
}

start_pg() {
  local dir=${1:?usage: postgres.sh start DIR [PORT]} port=${2:-}
  install_pg
  local bin
  bin=$(pg_bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local data="$dir/pgdata"

  if [ -f "$data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port=$(sed -n 4p "$data/postmaster.pid")
    print_connection "$dir" "$port"
    return 0
  fi

  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    chmod 0755 "$dir"
    # Every parent directory must be traversable by the owner (mktemp makes 0700 dirs).
    local p=$dir
    while [ "$p" != "/" ]; do
      p=$(dirname "$p")
      [ -x "$p" ] || die "$p is not traversable"
    done
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1 \
      || die "initdb failed, see $dir/initdb.log"
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_buffers = 128MB
work_mem = 32MB
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  fi

  [ -n "$port" ] || port=$(free_port)
  as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >/dev/null \
    || die "server did not start, see $dir/server.log"

  # Role and database for the tests; `if not exists` keeps re-runs harmless.
  as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<'SQL' \
    || die "could not create role/database lifecycle"
do $$ begin
  if not exists (select from pg_roles where rolname = 'lifecycle') then
    create role lifecycle login password 'lifecycle' createdb;
  end if;
end $$;
select 'create database lifecycle owner lifecycle'
where not exists (select from pg_database where datname = 'lifecycle') \gexec
SQL
  print_connection "$dir" "$port"
}

stop_pg() {
  local dir=${1:?usage: postgres.sh stop DIR}
  local data="$dir/pgdata" bin
  [ -f "$data/postmaster.pid" ] || return 0
  bin=$(pg_bindir) || return 0
  as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

cmd=${1:-}
shift || true
case "$cmd" in
  install) install_pg ;;
  start) start_pg "$@" ;;
  stop) stop_pg "$@" ;;
  *) die "usage: postgres.sh install | start DIR [PORT] | stop DIR" ;;
esac
