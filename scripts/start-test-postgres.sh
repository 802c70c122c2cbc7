#!/usr/bin/env bash
# Installs (from Debian's packages) and starts a PostgreSQL server on 127.0.0.1:5432 for the store
# tests, and prints the TEST_POSTGRES_URL to use. Safe to run again: it reuses what is there.
set -euo pipefail
ROLE=carrier_test
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not installed; run: sudo apt-get install postgresql" >&2
    exit 1
  fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
if [ -z "$version" ]; then
  echo "no PostgreSQL cluster found under /etc/postgresql" >&2
  exit 1
fi
pg_ctlcluster "$version" main status >/dev/null 2>&1 || pg_ctlcluster "$version" main start >&2
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 1
done
su postgres -c "psql -q -v ON_ERROR_STOP=1" >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$ROLE';
  END IF;
END \$\$;
SQL
echo "postgresql+psycopg://$ROLE:$ROLE@127.0.0.1:5432/postgres"
