#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster (Debian's postgresql package) on loopback, for the tests' PostgreSQL
# run store, and prints its URL: export MULTICLAUDE_TEST_DATABASE_URL="$(scripts/start-test-postgres.sh)".
# The cluster lives in a temp dir owned by the postgres user, listens on 127.0.0.1 only, on a free port,
# trusts local connections (nothing else can reach it) and is removed by `--stop DIR`.
set -euo pipefail

usage() {
  cat <<EOF
Usage: scripts/start-test-postgres.sh              start a throwaway cluster; prints its URL on stdout
       scripts/start-test-postgres.sh --stop DIR   stop the cluster in DIR and remove it

For the tests' PostgreSQL run store (.ci/run does this):
  export MULTICLAUDE_TEST_DATABASE_URL="\$(scripts/start-test-postgres.sh)"
Needs root and Debian's postgresql package (apt-get install postgresql); the server runs as the
postgres user, on 127.0.0.1 and a free port, trusting local connections, with fsync off.
EOF
}

die() {
  echo "start-test-postgres: $*" >&2
  exit 1
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "" | --stop) ;;
  *) usage >&2; die "unknown argument: $1" ;;
esac

bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$bin" ] || [ ! -x "${bin}/initdb" ]; then die "PostgreSQL is not installed (Debian: apt-get install postgresql)"; fi

if [ "${1:-}" = "--stop" ]; then
  if [ -z "${2:-}" ] || [ ! -f "${2}/PG_VERSION" ]; then die "--stop needs the cluster's directory"; fi
  runuser -u postgres -- "${bin}/pg_ctl" -D "$2" -m fast stop >/dev/null || true
  rm -rf "$2"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "run as root: the cluster runs as the postgres user"
id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql package creates it)"
port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); })')"
directory="$(mktemp -d /tmp/multiclaude-postgres.XXXXXX)"
chown postgres:postgres "$directory"
runuser -u postgres -- "${bin}/initdb" -D "$directory" -U postgres --auth=trust --encoding=UTF8 --no-sync >"${directory}.initdb.log" 2>&1 ||
  die "initdb failed: $(tail -5 "${directory}.initdb.log")"
rm -f "${directory}.initdb.log"
runuser -u postgres -- "${bin}/pg_ctl" -D "$directory" -l "${directory}/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${directory} -c fsync=off -c max_connections=200" start >/dev/null ||
  die "the server did not start: $(tail -5 "${directory}/server.log")"
printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$port"
echo "start-test-postgres: cluster in ${directory} (stop: scripts/start-test-postgres.sh --stop ${directory})" >&2
