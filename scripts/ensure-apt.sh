#!/usr/bin/env bash
# ensure-apt.sh COMMAND PACKAGE...: install Debian packages when COMMAND is not on the machine.
set -euo pipefail
cmd=$1; shift
command -v "$cmd" >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "error: '$cmd' is missing; install the Debian package(s) $* (needs root) and run again" >&2
  exit 1
fi
echo "installing Debian package(s) $* for '$cmd' ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
