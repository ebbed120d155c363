#!/usr/bin/env bash
# One command: set everything up and run the whole test suite, on PostgreSQL + Redis and on
# the SQLite embedded default, plus the guard rails (ruff, import-linter, mypy).
# Starts PostgreSQL and Redis when they are not running, installing them with apt if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/services.sh
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium for the browser tests"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi
fi

export PYTHONDONTWRITEBYTECODE=1
PG_URL=${TEST_DATABASE_URL:-postgres://budflow:budflow@127.0.0.1:5432/budflow}
REDIS=${TEST_REDIS_URL:-redis://127.0.0.1:6379/7}

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> import-linter"
.venv/bin/lint-imports
echo "==> mypy (engine and services)"
# django-stubs loads the settings, which insist on a SECRET_KEY outside DEBUG.
DEBUG=1 .venv/bin/mypy workflows/engine executions/services workflows/services.py

echo "==> tests on PostgreSQL + Redis"
DATABASE_URL=$PG_URL REDIS_URL=$REDIS BUDFLOW_QUEUE_NAME="budflow-test-$$" \
  .venv/bin/python -m pytest "$@"

echo "==> tests on the SQLite embedded default"
env -u DATABASE_URL -u REDIS_URL BUDFLOW_DATA_DIR="$(pwd)/var/test-sqlite" \
  .venv/bin/python -m pytest "$@"
