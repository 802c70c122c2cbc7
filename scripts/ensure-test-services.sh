#!/usr/bin/env bash
# The services the tests run against, from Debian's packages: installs what is missing (as root;
# otherwise says how and fails), starts PostgreSQL on 127.0.0.1:5432 and a Redis of our own on
# 127.0.0.1:6390, checks that nginx is installed, and writes var/test-services.env for `make test`.
# A TEST_POSTGRES_URL or TEST_REDIS_URL already in the environment is kept, and that service is left
# alone. Safe to run again: what is up stays up, and then it takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/services.sh

# Not Redis's default 6379: Debian's redis-server package starts the machine's own Redis there (with
# systemd), and a developer's Redis may hold data; the tests may write and flush this one freely.
REDIS_PORT=6390
REDIS_DIR="$PWD/var/test-redis"
ENV_FILE=var/test-services.env

missing=()
if [ -z "${TEST_POSTGRES_URL:-}" ] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ -z "${TEST_REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  missing+=(redis-server)
fi
if ! command -v nginx >/dev/null 2>&1; then
  missing+=(nginx)
fi
install_packages "The tests" "${missing[@]}"

# The tests start their own nginx with their own configuration; the system's nginx is never started.
nginx -v

if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  TEST_POSTGRES_URL=$(scripts/start-test-postgres.sh)
fi

if [ -z "${TEST_REDIS_URL:-}" ]; then
  # Nothing is saved to disk; the tests' data lives only as long as the server.
  start_redis "$REDIS_PORT" "$REDIS_DIR"
  TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi

mkdir -p var
{
  echo "# Written by scripts/ensure-test-services.sh; read with: set -a; source $ENV_FILE; set +a"
  printf 'TEST_POSTGRES_URL=%q\n' "$TEST_POSTGRES_URL"
  printf 'TEST_REDIS_URL=%q\n' "$TEST_REDIS_URL"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
