#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the test suite and prints the URL to
# put in TEST_POSTGRES_URL. Installs Debian's postgresql package when it is missing.
# Usage: scripts/start-test-postgres.sh DIR [PORT]
# Without PORT it takes a port the kernel reports free, and tries again with another if a
# connection grabs it before the server binds.
set -euo pipefail
dir="$1"
fixed_port="${2:-}"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

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
for attempt in 1 2 3 4 5; do
  port="${fixed_port:-$(free_port)}"
  if run "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" start >&2; then
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    exit 0
  fi
  [ -z "$fixed_port" ] || break
  echo "port $port was taken; trying another (attempt $attempt)" >&2
done
echo "PostgreSQL did not start; see $dir/server.log" >&2
exit 1
