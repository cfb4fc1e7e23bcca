#!/usr/bin/env bash
# The embedded PostgreSQL 15 cluster of `make run` (and the browser tests):
#   scripts/pg-embedded.sh start DIR   initdb on first use, start; prints a libpq conninfo
#   scripts/pg-embedded.sh stop DIR
# It listens on a unix socket in DIR/socket only (no TCP port to collide on).
# initdb refuses root, so as root the cluster runs as the system user
# "tenant-backup" (created on first use).
set -euo pipefail
cmd=${1:?usage: pg-embedded.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: pg-embedded.sh start|stop DIR}")
bin=/usr/lib/postgresql/15/bin
port=${TB_PG_PORT:-5433}
as_owner=()
if [[ $(id -u) == 0 ]]; then
  id -u tenant-backup >/dev/null 2>&1 || useradd --system --no-create-home tenant-backup
  as_owner=(runuser -u tenant-backup --)
fi

case "$cmd" in
  start)
    mkdir -p "$dir/socket"
    if [[ ${#as_owner[@]} -gt 0 ]]; then chown tenant-backup "$dir" "$dir/socket"; fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
      cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir/socket'
port = $port
max_connections = 200
CONF
    fi
    if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
    fi
    port=$(sed -n 's/^port = \([0-9]*\)/\1/p' "$dir/data/postgresql.conf" | tail -1)
    echo "host=$dir/socket port=$port user=postgres"
    ;;
  stop)
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: pg-embedded.sh start|stop DIR" >&2; exit 2 ;;
esac
