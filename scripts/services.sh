#!/usr/bin/env bash
# Makes sure PostgreSQL (with a `budflow` role that may create databases) and Redis run on
# 127.0.0.1, installing them with apt when missing and starting them without systemd.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "==> installing PostgreSQL with apt"
  apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "==> starting PostgreSQL"
  version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
psql_admin() { as_root su postgres -c "psql -q -v ON_ERROR_STOP=1 $*"; }
if ! PGPASSWORD=budflow psql -h 127.0.0.1 -U budflow -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  echo "==> creating the budflow PostgreSQL role"
  psql_admin "-c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='budflow') THEN CREATE ROLE budflow LOGIN CREATEDB PASSWORD 'budflow'; ELSE ALTER ROLE budflow LOGIN CREATEDB PASSWORD 'budflow'; END IF; END \\\$\\\$;\""
fi
if ! PGPASSWORD=budflow psql -h 127.0.0.1 -U budflow -d budflow -tAc 'select 1' >/dev/null 2>&1; then
  psql_admin "-c 'CREATE DATABASE budflow OWNER budflow'"
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "==> installing Redis with apt"
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
