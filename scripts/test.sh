#!/usr/bin/env bash
# README command 2: the whole test suite on real parts. Sets up .venv, starts a private
# PostgreSQL cluster on loopback (installing the server if absent), runs ruff, mypy and pytest, and
# stops the cluster again, also on failure. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# headless Chromium and its driver for the ops-page browser test
scripts/ensure-apt.sh chromedriver chromium chromium-driver
# Hudi's own Spark bundles (0.15.0 and 1.0.2) from Maven Central: the reference reader and writer
TRIBUTARY_HUDI_BUNDLES=$(scripts/hudi-bundles.sh | tr ' \n' '=;')
export TRIBUTARY_HUDI_BUNDLES
echo "Hudi bundles for tests: $TRIBUTARY_HUDI_BUNDLES"

# Trino (the engine under Athena engine 3) from Maven Central, the catalog tests' reader; the
# tests start and stop it themselves (scripts/trino.sh)
scripts/trino.sh install

cleanup() { scripts/pg.sh stop || true; scripts/trino.sh stop || true; }
trap cleanup EXIT INT TERM
TRIBUTARY_TEST_PG_URL=$(scripts/pg.sh start | tail -n 1)
export TRIBUTARY_TEST_PG_URL
echo "PostgreSQL for tests: $TRIBUTARY_TEST_PG_URL"

.venv/bin/ruff check --output-format concise .
# typed code: mypy on include/tributary (settings in pyproject.toml)
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
