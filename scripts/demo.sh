#!/usr/bin/env bash
# README command 1: set everything up and run the main job on the embedded default (SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export COLUMNS=${COLUMNS:-160}
T=.venv/bin/tributary
$T db upgrade
$T config validate config/
$T config apply config/
$T flows list
$T tables list
$T demo run "$@"
