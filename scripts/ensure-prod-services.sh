#!/usr/bin/env bash
# The engines `make run-prod` runs on, from Debian's packages (the same code as the tests' services,
# scripts/services.sh): installs PostgreSQL, Redis and nginx when missing (as root; otherwise says how
# and fails), starts the PostgreSQL cluster with a role `carrier` and the databases `carrier` and
# `carrier_tracker`, a persistent Redis of our own on 127.0.0.1:$PROD_REDIS_PORT (6391), and writes
# var/prod/services.env (DATABASE_URL, TRACKER_DATABASE_URL, REDIS_URL). A DATABASE_URL,
# TRACKER_DATABASE_URL or REDIS_URL already in the environment (a managed server) is kept and that
# service left alone. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

PROD_DIR="$PWD/var/prod"
PROD_REDIS_PORT=${PROD_REDIS_PORT:-6391}
ENV_FILE="$PROD_DIR/services.env"
ROLE=carrier
mkdir -p "$PROD_DIR"
chmod 700 "$PROD_DIR"

missing=()
if { [ -z "${DATABASE_URL:-}" ] || [ -z "${TRACKER_DATABASE_URL:-}" ]; } && ! command -v pg_ctlcluster >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  missing+=(redis-server)
fi
if ! command -v nginx >/dev/null 2>&1; then
  missing+=(nginx)
fi
install_packages "make run-prod" "${missing[@]}"

if [ -z "${DATABASE_URL:-}" ] || [ -z "${TRACKER_DATABASE_URL:-}" ]; then
  password_file="$PROD_DIR/postgres_password"
  if [ ! -s "$password_file" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$password_file")
  fi
  password=$(cat "$password_file")
  start_postgres
  ensure_role "$ROLE" "$password"
  ensure_database carrier "$ROLE"
  ensure_database carrier_tracker "$ROLE"
  DATABASE_URL=${DATABASE_URL:-postgresql+psycopg://$ROLE:$password@127.0.0.1:5432/carrier}
  TRACKER_DATABASE_URL=${TRACKER_DATABASE_URL:-postgresql://$ROLE:$password@127.0.0.1:5432/carrier_tracker}
fi

if [ -z "${REDIS_URL:-}" ]; then
  # Persistent (append-only file): Rasa's locks and the door budgets survive a restart of Redis.
  start_redis "$PROD_REDIS_PORT" "$PROD_DIR/redis" --persist
  REDIS_URL="redis://127.0.0.1:$PROD_REDIS_PORT/0"
fi

nginx -v
{
  echo "# Written by scripts/ensure-prod-services.sh for tools/prod.py (secrets: mode 600)"
  printf 'DATABASE_URL=%q\n' "$DATABASE_URL"
  printf 'TRACKER_DATABASE_URL=%q\n' "$TRACKER_DATABASE_URL"
  printf 'REDIS_URL=%q\n' "$REDIS_URL"
} >"$ENV_FILE.tmp"
chmod 600 "$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
