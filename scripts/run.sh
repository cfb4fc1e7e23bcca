#!/usr/bin/env bash
# `make run`: the whole service on one machine. Without DATABASE_URL it starts
# (or reuses) an embedded PostgreSQL cluster under var/, creates the database,
# migrates, seeds the demo project, then starts `tenant-backup serve` and prints
# where the UI is with a sign-in link for the demo project.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tenant-backup
mkdir -p var

if [[ -z "${DATABASE_URL:-}" ]]; then
  base=$(scripts/pg-embedded.sh start var/pg)
  psql="/usr/lib/postgresql/15/bin/psql"
  if [[ $($psql "$base dbname=postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = 'tenant_backup'") != 1 ]]; then
    $psql "$base dbname=postgres" -qc "CREATE DATABASE tenant_backup"
  fi
  export DATABASE_URL="$base dbname=tenant_backup"
  # Verifications restore backups into throwaway databases of the same
  # embedded cluster (tb_verify_*, dropped after each one).
  export VERIFY_DATABASE_URL="${VERIFY_DATABASE_URL:-$base dbname=postgres}"
  seed_demo=1
fi

# A development secret, made once and kept (0600) so tokens survive restarts.
if [[ -z "${JWT_SECRET:-}" && -z "${JWT_PUBLIC_KEY_FILE:-}" ]]; then
  if [[ ! -s var/jwt-secret ]]; then
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > var/jwt-secret)
  fi
  JWT_SECRET=$(cat var/jwt-secret)
  export JWT_SECRET
fi
export STORAGE_DIR="${STORAGE_DIR:-$PWD/var/backups}"
export LISTEN="${LISTEN:-127.0.0.1:8080}"

"$bin" migrate
if [[ "${seed_demo:-0}" == 1 || "${TB_SEED_DEMO:-0}" == 1 ]]; then
  /usr/lib/postgresql/15/bin/psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -f scripts/demo-seed.sql >/dev/null
fi

url="${PUBLIC_URL:-http://$LISTEN}"
if [[ -n "${JWT_SECRET:-}" ]]; then
  token=$("$bin" token --project demo --ttl 24h)
  cat <<MSG

  Tenant Backup is starting.
  UI:          $url/
  Sign in:     $url/#token=$token
  Demo token:  $token
  API docs:    $url/docs

  Try:  curl -s -X POST -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
             -d '{"project_id":"demo"}' $url/api/backup/export

MSG
fi
exec "$bin" serve
