#!/usr/bin/env bash
# trino.sh: an Athena-class reader for tests. Athena engine 3 is built on Trino; this runs Trino
# (io.trino:trino-server from Maven Central, fetched with Maven's own client into ~/.m2) with
# its Hudi connector on a Glue metastore and S3, both pointed at a moto server.
#   trino.sh install          fetch and unpack the server once (the test command does this first)
#   trino.sh start MOTO_URL   start on a free loopback port; prints the Trino URL (last line)
#   trino.sh stop             stop it (only the server this script started: its pid file)
#   trino.sh url
# Trino 476 needs Java 24 or newer: TRIBUTARY_TRINO_JAVA_HOME, else a JDK >= 24 under
# /usr/lib/jvm. The server is unpacked once (plugins other than hudi/hive removed) into
# TRIBUTARY_TRINO_CACHE (default ~/.cache/tributary). State and logs live in .stack/trino.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VERSION=${TRIBUTARY_TRINO_VERSION:-476}
DIR="$ROOT/.stack/trino"
CACHE=${TRIBUTARY_TRINO_CACHE:-$HOME/.cache/tributary}
SERVER="$CACHE/trino-server-$VERSION"
REPO=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
TARBALL="$REPO/io/trino/trino-server/$VERSION/trino-server-$VERSION.tar.gz"

java_home() {
  local d v
  for d in ${TRIBUTARY_TRINO_JAVA_HOME:-} /usr/lib/jvm/*; do
    [ -x "$d/bin/java" ] || continue
    v=$("$d/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ "${v%%.*}" -ge 24 ] 2>/dev/null; then echo "$d"; return 0; fi
  done
  echo "error: Trino $VERSION needs Java 24 or newer; set TRIBUTARY_TRINO_JAVA_HOME or install a JDK 25 (e.g. Temurin 25)" >&2
  return 1
}

install() {
  [ -x "$SERVER/bin/launcher" ] && return 0
  if [ ! -s "$TARBALL" ]; then
    command -v mvn >/dev/null || { echo "error: Maven is missing: Trino is fetched with Maven (apt-get install maven)" >&2; exit 1; }
    echo "fetching io.trino:trino-server:$VERSION (about 820 MB, once) with Maven ..." >&2
    mvn -q -B "-Dmaven.repo.local=$REPO" dependency:get "-Dartifact=io.trino:trino-server:$VERSION:tar.gz" -Dtransitive=false >&2 || {
      echo "error: Maven could not fetch io.trino:trino-server:$VERSION (is Maven Central reachable?)" >&2; exit 1; }
  fi
  mkdir -p "$CACHE"
  local tmp; tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
  tar xzf "$TARBALL" -C "$tmp"
  # the tarball hard-links shared jars across plugin folders: remove the unused folders after unpacking
  find "$tmp/trino-server-$VERSION/plugin" -mindepth 1 -maxdepth 1 -type d ! -name hudi ! -name hive -exec rm -rf {} +
  mv "$tmp/trino-server-$VERSION" "$SERVER" && rmdir "$tmp"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

write_config() {
  local moto=$1 port=$2 etc="$DIR/etc"
  mkdir -p "$etc/catalog" "$DIR/data"
  cat > "$etc/node.properties" <<EOF
node.environment=tributary_test
node.id=tributary-test
node.data-dir=$DIR/data
node.bind-ip=127.0.0.1
node.internal-address=127.0.0.1
EOF
  cat > "$etc/jvm.config" <<EOF
-server
-Xmx${TRIBUTARY_TRINO_HEAP:-1G}
-XX:+UseSerialGC
-XX:TieredStopAtLevel=1
-XX:+ExitOnOutOfMemoryError
-Djdk.attach.allowAttachSelf=true
EOF
  cat > "$etc/config.properties" <<EOF
coordinator=true
node-scheduler.include-coordinator=true
http-server.http.port=$port
discovery.uri=http://127.0.0.1:$port
query.max-memory=512MB
query.max-memory-per-node=512MB
EOF
  cat > "$etc/log.properties" <<EOF
io.trino=WARN
EOF
  cat > "$etc/catalog/hudi.properties" <<EOF
connector.name=hudi
hive.metastore=glue
hive.metastore.glue.region=us-east-1
hive.metastore.glue.endpoint-url=$moto
hive.metastore.glue.aws-access-key=testing
hive.metastore.glue.aws-secret-key=testing
fs.native-s3.enabled=true
s3.endpoint=$moto
s3.region=us-east-1
s3.path-style-access=true
s3.aws-access-key=testing
s3.aws-secret-key=testing
EOF
}

start() {
  local moto=${1:?usage: trino.sh start MOTO_URL}
  case "$moto" in http://127.0.0.1:*|http://localhost:*) ;; *) echo "error: the moto URL must be on loopback (http://127.0.0.1:PORT)" >&2; exit 1;; esac
  local jh; jh=$(java_home)
  install
  stop
  local port; port=$(free_port)
  rm -rf "$DIR"; mkdir -p "$DIR"
  write_config "$moto" "$port"
  echo "$port" > "$DIR/port"
  JAVA_HOME="$jh" PATH="$jh/bin:$PATH" "$SERVER/bin/launcher" start --etc-dir "$DIR/etc" --data-dir "$DIR/data" \
    --pid-file "$DIR/launcher.pid" >/dev/null
  local i
  for i in $(seq 1 240); do
    if curl -fs "http://127.0.0.1:$port/v1/info" 2>/dev/null | grep -q '"starting":false'; then url; return 0; fi
    if ! JAVA_HOME="$jh" "$SERVER/bin/launcher" status --etc-dir "$DIR/etc" --pid-file "$DIR/launcher.pid" --data-dir "$DIR/data" >/dev/null 2>&1; then
      echo "error: Trino exited while starting; see $DIR/data/var/log/server.log" >&2
      tail -n 30 "$DIR/data/var/log/server.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "error: Trino did not start within 120 s; see $DIR/data/var/log/server.log" >&2
  stop
  exit 1
}

stop() {
  [ -f "$DIR/launcher.pid" ] || return 0
  local jh; jh=$(java_home)
  JAVA_HOME="$jh" "$SERVER/bin/launcher" stop --etc-dir "$DIR/etc" --pid-file "$DIR/launcher.pid" --data-dir "$DIR/data" >/dev/null 2>&1 || true
  rm -f "$DIR/launcher.pid"
}

url() { echo "http://127.0.0.1:$(cat "$DIR/port")"; }

case "${1:-}" in
  install) java_home >/dev/null; install ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  url) url ;;
  *) echo "usage: $0 install | start MOTO_URL | stop | url" >&2; exit 2 ;;
esac
