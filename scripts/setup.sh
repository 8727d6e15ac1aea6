#!/usr/bin/env bash
# Create or refresh .venv from the pinned lock (requirements.txt) and install Tributary editable.
# Idempotent: does nothing when .venv already matches the lock.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "error: Tributary needs Python 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
}

stamp=".venv/.lock-sha256"
want=$(cat requirements.txt requirements-bench.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/tributary ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

if ! command -v uv >/dev/null 2>&1 && ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
  echo "installing uv (fast, pinned installs) ..."
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
UV="uv"; command -v uv >/dev/null 2>&1 || UV="$PYTHON -m uv"

[ -x .venv/bin/python ] || $UV venv --quiet --python "$PYTHON" .venv
echo "installing the pinned lock into .venv ..."
# --compile-bytecode: pip's default, not uv's. Without .pyc files every process compiles what it
# imports (and with PYTHONDONTWRITEBYTECODE set, as on these machines, never keeps the result):
# a no-op `tributary cdc apply` took 0.15 s without them, 0.08 s with them
$UV pip install --quiet --compile-bytecode --python .venv/bin/python -r requirements.txt
# benchmark peers (delta-rs, duckdb) for `tributary bench peers`; never imported by the runtime
$UV pip install --quiet --compile-bytecode --python .venv/bin/python -r requirements-bench.txt
$UV pip install --quiet --python .venv/bin/python --no-deps -e .
.venv/bin/python -m compileall -q include dags plugins > /dev/null
echo "$want" > "$stamp"
echo "environment ready: .venv ($(.venv/bin/python --version))"
