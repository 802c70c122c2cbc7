#!/usr/bin/env bash
# The services the tests run against, from Debian's packages: installs what is missing (as root;
# otherwise says how and fails), starts PostgreSQL on 127.0.0.1:5432 and a Redis of our own on
# 127.0.0.1:6390, checks that nginx is installed, and writes var/test-services.env for `make test`.
# A TEST_POSTGRES_URL or TEST_REDIS_URL already in the environment is kept, and that service is left
# alone. Safe to run again: what is up stays up, and then it takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# Not Redis's default 6379: Debian's redis-server package starts the machine's own Redis there (with
# systemd), and a developer's Redis may hold data; the tests may write and flush this one freely.
REDIS_PORT=6390
REDIS_DIR="$PWD/var/test-redis"
ENV_FILE=var/test-services.env
# nginx lives in /usr/sbin, which is not on an ordinary user's PATH.
export PATH="$PATH:/usr/sbin"

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

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need Debian's ${missing[*]}, and it is missing." >&2
    echo "Install it as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing Debian's ${missing[*]} for the tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The tests start their own nginx with their own configuration; the system's nginx is never started.
nginx -v

if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  TEST_POSTGRES_URL=$(scripts/start-test-postgres.sh)
fi

if [ -z "${TEST_REDIS_URL:-}" ]; then
  redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
  if ! redis_up; then
    mkdir -p "$REDIS_DIR"
    # A daemon of ours, not systemd's service: containers and CI have no systemd. Nothing is saved to
    # disk; the tests' data lives only as long as the server.
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save "" --appendonly no \
      --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
    for _ in $(seq 1 50); do
      redis_up && break
      sleep 0.2
    done
    if ! redis_up; then
      echo "Redis did not answer on 127.0.0.1:$REDIS_PORT; see $REDIS_DIR/redis.log" >&2
      exit 1
    fi
  fi
  TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi

mkdir -p var
{
  echo "# Written by scripts/ensure-test-services.sh; read with: set -a; source $ENV_FILE; set +a"
  printf 'TEST_POSTGRES_URL=%q\n' "$TEST_POSTGRES_URL"
  printf 'TEST_REDIS_URL=%q\n' "$TEST_REDIS_URL"
} >"$ENV_FILE.tmp"
mv "$ENV_FILE.tmp" "$ENV_FILE"
