#!/usr/bin/env bash
# README command 1: set everything up, start the local stack (moto, metadata DB, Airflow), land a
# DMS-style dataset for the 18 example tables wave by wave in the staging bucket, let the flows'
# DAGs apply each wave (S3 events start one, its schedule the other), validate every table with
# hudi-rs, and leave the Airflow UI up.
# `make demo-down` stops the stack. DEMO_ARGS passes options to `tributary demo run` (e.g. --rows).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export COLUMNS=${COLUMNS:-160}
T=.venv/bin/tributary
$T stack up --config config/
# shellcheck disable=SC1091
source .stack/local/env
$T config validate config/
$T flows list
$T tables list
$T demo run ${DEMO_ARGS:-}
url=${TRIBUTARY_AIRFLOW_API_URL}
echo
echo "Airflow UI:      ${url}/   (login in .stack/local/login.json)"
echo "Tributary page:  ${url}/tributary/"
echo "Stop it with:    make demo-down"
