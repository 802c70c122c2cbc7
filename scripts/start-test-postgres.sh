#!/usr/bin/env bash
# Installs (from Debian's packages) and starts a PostgreSQL server on 127.0.0.1:5432 for the store
# tests, and prints the TEST_POSTGRES_URL to use. Safe to run again: it reuses what is there.
set -euo pipefail
source "$(dirname "$0")/services.sh"
ROLE=carrier_test
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  install_packages "The store tests" postgresql
fi
start_postgres
ensure_role "$ROLE" "$ROLE" CREATEDB
echo "postgresql+psycopg://$ROLE:$ROLE@127.0.0.1:5432/postgres"
