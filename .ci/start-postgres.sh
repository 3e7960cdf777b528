#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the distributed-search tests.
set -euo pipefail
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
DATA=${PGDATA_DIR:-/tmp/spikefit-pg}
if ! su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D $DATA status" >/dev/null 2>&1; then
  rm -rf "$DATA"
  mkdir -p "$DATA" && chown postgres "$DATA"
  su postgres -s /bin/sh -c "$PG_BIN/initdb -D $DATA -A trust -U postgres" >/dev/null
  su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D $DATA -o '-c listen_addresses=127.0.0.1 -p 5432 -k /tmp' -l $DATA/log -w start" >/dev/null
fi
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_roles WHERE rolname='spikefit'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "CREATE ROLE spikefit LOGIN PASSWORD 'spikefit'"
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='spikefit'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE spikefit OWNER spikefit"
echo "postgres ready on 127.0.0.1:5432"
