#!/usr/bin/env bash
# A private PostgreSQL cluster on a loopback port for tests: `pg.sh start|stop|url`.
# Installs Debian's PostgreSQL server when the machine lacks it. State lives in .stack/pg.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DIR="$ROOT/.stack/pg"
DATA="$DIR/data"

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

as_pg() {  # initdb and postgres refuse to run as root: use the postgres account then
  if [ "$(id -u)" = "0" ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

start() {
  local bin port
  if ! bin=$(find_bin); then
    echo "PostgreSQL server not found; installing Debian's postgresql package ..." >&2
    if [ "$(id -u)" != "0" ]; then
      echo "error: install the Debian package 'postgresql' (needs root), then run again" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # do not let the package start the system-wide cluster; we run our own
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq postgresql >/dev/null
    rm -f /usr/sbin/policy-rc.d
    bin=$(find_bin)
  fi
  if [ -f "$DIR/port" ] && as_pg "'$bin/pg_ctl' -D '$DATA' status" >/dev/null 2>&1; then
    url; return 0
  fi
  rm -rf "$DIR"; mkdir -p "$DIR"
  [ "$(id -u)" = "0" ] && chown postgres "$DIR"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "'$bin/initdb' -D '$DATA' --auth=trust --username=postgres --encoding=UTF8 >'$DIR/initdb.log' 2>&1"
  as_pg "'$bin/pg_ctl' -D '$DATA' -l '$DIR/server.log' -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p $port -k '$DIR' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start" >/dev/null
  echo "$port" > "$DIR/port"
  echo "$bin" > "$DIR/bin"
  url
}

stop() {
  [ -f "$DIR/bin" ] || return 0
  local bin; bin=$(cat "$DIR/bin")
  as_pg "'$bin/pg_ctl' -D '$DATA' -m fast -w stop" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}

url() { echo "postgresql://postgres@127.0.0.1:$(cat "$DIR/port")/postgres"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
