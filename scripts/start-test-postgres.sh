#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the test suite and prints the URL to
# put in TEST_POSTGRES_URL. Installs Debian's postgresql package when it is missing.
# Usage: scripts/start-test-postgres.sh DIR [PORT]
set -euo pipefail
dir="$1"
port="${2:-55432}"

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi

mkdir -p "$dir"
# PostgreSQL refuses to run as root; the postgres user from the package owns the cluster.
chown postgres "$dir"
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
run "$bin/initdb" -D "$dir/data" -U postgres --auth=trust > "$dir/initdb.log"
run "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" start >&2
echo "postgres://postgres@127.0.0.1:$port/postgres"
