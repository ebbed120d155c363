#!/usr/bin/env bash
# One command: set everything up and run BudFlow on the embedded default (SQLite, no external
# services): web (daphne), worker (qcluster) and timers together. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh

mkdir -p var
if [ ! -f .env ]; then
  key=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
  printf 'SECRET_KEY=%s\n' "$key" > .env
  echo "==> wrote .env with a new SECRET_KEY (see .env.example for every setting)"
fi

.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py createcachetable
.venv/bin/python manage.py budflow_demo
exec .venv/bin/python manage.py budflow_start "$@"
