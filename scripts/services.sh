#!/usr/bin/env bash
# Shared by scripts/ensure-test-services.sh (the tests) and scripts/ensure-prod-services.sh (make
# run-prod): install Debian's packages when missing, start the PostgreSQL cluster, make a login role,
# start a Redis of our own. Source it; every function says what failed on stderr and returns non-zero.

# nginx and pg_ctlcluster's tools live in /usr/sbin, which is not on an ordinary user's PATH.
export PATH="$PATH:/usr/sbin"

# install_packages WHY PACKAGE...: apt-get install the packages (as root), or say how and fail.
install_packages() {
  local why=$1
  shift
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$why needs Debian's $*, and it is missing." >&2
    echo "Install it as root:  apt-get update && apt-get install -y $*" >&2
    return 1
  fi
  echo "Installing Debian's $* for $why..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# start_postgres: the newest PostgreSQL cluster of the machine, started and answering on 127.0.0.1:5432.
start_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    echo "no PostgreSQL cluster found under /etc/postgresql" >&2
    return 1
  fi
  pg_ctlcluster "$version" main status >/dev/null 2>&1 || pg_ctlcluster "$version" main start >&2
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && return 0
    sleep 1
  done
  echo "PostgreSQL did not answer on 127.0.0.1:5432" >&2
  return 1
}

# postgres_sql: run SQL from stdin as the postgres superuser (peer authentication, as root).
postgres_sql() {
  su postgres -c "psql -q -v ON_ERROR_STOP=1" >&2
}

# ensure_role ROLE PASSWORD [OPTIONS]: a login role with that password (set again when it exists).
ensure_role() {
  local role=$1 password=$2 options=${3:-}
  postgres_sql <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN $options PASSWORD '$password';
  ELSE
    ALTER ROLE $role WITH LOGIN PASSWORD '$password';
  END IF;
END \$\$;
SQL
}

# ensure_database NAME OWNER: a database owned by OWNER, created when missing.
ensure_database() {
  local name=$1 owner=$2
  if [ -z "$(su postgres -c "psql -tAq -c \"SELECT 1 FROM pg_database WHERE datname = '$name'\"")" ]; then
    su postgres -c "createdb -O $owner $name" >&2
  fi
}

# start_redis PORT DIR [--persist]: a Redis daemon of ours on 127.0.0.1:PORT (not systemd's: containers
# and CI have none). Without --persist nothing is saved to disk (the tests' Redis); with it, an
# append-only file in DIR keeps the data across restarts.
start_redis() {
  local port=$1 dir=$2 persist=${3:-}
  local up
  up() { [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }
  up && return 0
  mkdir -p "$dir"
  local saving=(--save "" --appendonly no)
  [ "$persist" = --persist ] && saving=(--appendonly yes --appendfsync everysec)
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes "${saving[@]}" \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 1 50); do
    up && return 0
    sleep 0.2
  done
  echo "Redis did not answer on 127.0.0.1:$port; see $dir/redis.log" >&2
  return 1
}
