#!/usr/bin/env bash
# Checks the documented PostgreSQL backup: data written by unilogin survives pg_dump and
# pg_restore into a new database.
# Usage: scripts/test-postgres-backup.sh UNILOGIN_BINARY ADMIN_URL
# ADMIN_URL is a database URL of a role that may create databases, as
# scripts/start-test-postgres.sh prints it.
set -euo pipefail
binary="$(realpath "$1")"
admin_url="$2"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
base="${admin_url%/*}"
suffix="$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
source_db="backup_source_$suffix"
restored_db="backup_restored_$suffix"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin/psql" -q "$admin_url" -c "CREATE DATABASE $source_db" -c "CREATE DATABASE $restored_db"
run_unilogin() {
  (cd "$work" && UNILOGIN_SERVER__DATA_DIR="$work" UNILOGIN_DATABASE__URL="$1" \
    RUST_LOG=warn "$binary" "${@:2}")
}
run_unilogin "$base/$source_db" client add --client-id backup-check --name 备份检查 \
  --redirect-uri https://backup.example.cn/cb > /dev/null

"$bin/pg_dump" --format=custom --file="$work/unilogin.dump" "$base/$source_db"
"$bin/pg_restore" --no-owner --dbname="$base/$restored_db" "$work/unilogin.dump"

listed="$(run_unilogin "$base/$restored_db" client list)"
if ! grep -q "^backup-check	备份检查	" <<< "$listed"; then
  echo "the restored database lacks the client written before the dump:" >&2
  echo "$listed" >&2
  exit 1
fi
echo "pg_dump and pg_restore kept the data"
