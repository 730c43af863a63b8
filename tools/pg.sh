#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: Debian's server binaries, a cluster
# in DIR (fsync off: nothing here must survive a crash), listening on a
# loopback port and a private socket directory, trusted local logins.
# Usage: tools/pg.sh start DIR   prints the URL of a fresh database "patd"
#        tools/pg.sh stop DIR
#        tools/pg.sh restart DIR (the same port: for the fault tests)
# As root, the server runs as the postgres user (initdb refuses root).
set -euo pipefail

cmd=${1:?usage: tools/pg.sh start|stop|restart DIR}
dir=${2:?usage: tools/pg.sh start|stop|restart DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "tools/pg.sh: PostgreSQL is not installed (tools/deps.sh test)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >"$dir/initdb.log" 2>&1
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$dir/port"
    ;;
  restart|stop) port=$(cat "$dir/port") ;;
  *) echo "usage: tools/pg.sh start|stop|restart DIR" >&2; exit 2 ;;
esac

if [ "$cmd" = stop ] || [ "$cmd" = restart ]; then
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  [ "$cmd" = stop ] && exit 0
fi

as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
if [ "$cmd" = start ]; then
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres patd
fi
echo "postgresql://postgres@127.0.0.1:$port/patd"
