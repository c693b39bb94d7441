#!/bin/sh
# Starts PostgreSQL on PGDATA; the first time, initialises it with POSTGRES_USER's password read from
# POSTGRES_PASSWORD_FILE (never the environment or argv) and creates POSTGRES_DB. Connections from the
# network need that password (scram-sha-256); inside the container the unix socket is trusted.
set -eu

die() {
  echo "postgres-entrypoint: $*" >&2
  exit 1
}

: "${PGDATA:?PGDATA must be set}"
user="${POSTGRES_USER:-multiclaude}"
database="${POSTGRES_DB:-multiclaude}"
socket_dir="${POSTGRES_SOCKET_DIR:-/var/run/postgresql}"

if [ ! -s "${PGDATA}/PG_VERSION" ]; then
  [ -r "${POSTGRES_PASSWORD_FILE:-}" ] || die "POSTGRES_PASSWORD_FILE must name a readable file holding the password"
  [ -s "$POSTGRES_PASSWORD_FILE" ] || die "${POSTGRES_PASSWORD_FILE} is empty"
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$POSTGRES_PASSWORD_FILE" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  printf '%s\n' "host all all 0.0.0.0/0 scram-sha-256" "host all all ::/0 scram-sha-256" >>"${PGDATA}/pg_hba.conf"
  pg_ctl --pgdata="$PGDATA" --silent --wait \
    --options="-c listen_addresses='' -c unix_socket_directories=${socket_dir}" start
  if [ "$database" != postgres ]; then
    psql --host="$socket_dir" --username="$user" --dbname=postgres --quiet --set=ON_ERROR_STOP=1 \
      --command="CREATE DATABASE \"${database}\""
  fi
  pg_ctl --pgdata="$PGDATA" --silent --wait --mode=fast stop
  echo "postgres-entrypoint: initialised ${PGDATA} (user ${user}, database ${database})"
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c "unix_socket_directories=${socket_dir}"
