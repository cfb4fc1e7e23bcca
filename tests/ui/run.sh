#!/usr/bin/env bash
# Browser tests of the web UI against the real binary and a real database:
#   a throwaway embedded PostgreSQL cluster (scripts/pg-embedded.sh), `migrate`,
#   the demo seed plus a second project "other", `tenant-backup serve` on a free
#   loopback port, tokens minted by `tenant-backup token` (and one expired token
#   by python3-jwt), the fake Telegram Bot API of the e2e tests
#   (tests/support/fake_telegram.py) as its TELEGRAM_API_URL, a second API-only
#   `serve` of the same database without a Telegram bot, then `node --test`
#   driving Debian's chromium.
# Screenshots land in tests/ui/artifacts/ (gitignored). Everything started here
# is stopped on exit, pass or fail. TB_KEEP_TMP=1 keeps the temp folder (logs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${TB_BINARY:-$root/build/debug/tenant-backup}"
pgbin=/usr/lib/postgresql/15/bin

if [[ ! -x "$bin" ]]; then
  echo "run.sh: $bin is missing; build it first (make build-debug) or set TB_BINARY" >&2
  exit 1
fi
if [[ ! -x /usr/bin/chromium ]]; then
  echo "run.sh: /usr/bin/chromium is missing (apt-get install chromium)" >&2
  exit 1
fi
# Every dev dependency present (a checkout made before one was added has the others).
if [[ ! -d "$here/node_modules/playwright-core" || ! -d "$here/node_modules/axe-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

tmp="$(mktemp -d /tmp/tb-ui.XXXXXX)"
# As root the cluster runs as the user "tenant-backup", which must reach its folder.
chmod 755 "$tmp"
server_pid=""
bare_pid=""
telegram_pid=""
cleanup() {
  local status=$?
  for pid in "$server_pid" "$bare_pid" "$telegram_pid"; do
    if [[ -n "$pid" ]]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  "$root/scripts/pg-embedded.sh" stop "$tmp/pg" || true
  if [[ $status -ne 0 && -f "$tmp/serve.log" ]]; then
    echo "---- last lines of the server log ($tmp/serve.log) ----" >&2
    tail -n 40 "$tmp/serve.log" >&2 || true
  fi
  if [[ "${TB_KEEP_TMP:-0}" == 1 ]]; then
    echo "run.sh: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit $status
}
trap cleanup EXIT INT TERM

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The cluster listens on a unix socket in its own folder; the port only names it.
export TB_PG_PORT="${TB_PG_PORT:-$(free_port)}"
base="$("$root/scripts/pg-embedded.sh" start "$tmp/pg")"
"$pgbin/psql" "$base dbname=postgres" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE tenant_backup" >/dev/null
export DATABASE_URL="$base dbname=tenant_backup"

"$bin" migrate >"$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log" >&2; exit 1; }
"$pgbin/psql" "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 -f "$root/scripts/demo-seed.sql" >/dev/null
# A second project that the demo token must never be offered.
"$pgbin/psql" "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO control_plane.projects (id, slug, name) VALUES ('other', 'other', 'Other') ON CONFLICT DO NOTHING;
CREATE SCHEMA IF NOT EXISTS tenant_other;
CREATE TABLE IF NOT EXISTS tenant_other.notes (id serial PRIMARY KEY, body text NOT NULL);
INSERT INTO tenant_other.notes (body) VALUES ('secret of other');
-- A project whose id, slug and name are as long as allowed, for the narrow-screen layout.
INSERT INTO control_plane.projects (id, slug, name) VALUES (
  'northwind_regional_logistics_and_warehousing_division_nordrhein_westfalen_archive',
  'northwind_regional_logistics_warehousing_nrw_archive_x',
  'Northwind Regional Logistics and Warehousing (Nordrhein-Westfalen) Lagerverwaltungsgesellschaftsarchiv')
ON CONFLICT DO NOTHING;
CREATE SCHEMA IF NOT EXISTS tenant_northwind_regional_logistics_warehousing_nrw_archive_x;
CREATE TABLE IF NOT EXISTS tenant_northwind_regional_logistics_warehousing_nrw_archive_x.shipments (id serial PRIMARY KEY);
-- A project whose schema is missing: every export of it fails (pg_dump finds nothing to dump).
INSERT INTO control_plane.projects (id, slug, name) VALUES ('broken', 'broken', 'Broken project')
ON CONFLICT DO NOTHING;
SQL

# The fake Bot API prints "PORT <n>" once it listens.
export TELEGRAM_BOT_TOKEN="123456:ui-test"
/usr/bin/python3 "$root/tests/support/fake_telegram.py" "$TELEGRAM_BOT_TOKEN" "$tmp/telegram" \
  >"$tmp/telegram.out" 2>"$tmp/telegram.log" &
telegram_pid=$!
for _ in $(seq 1 150); do
  if grep -q '^PORT ' "$tmp/telegram.out" 2>/dev/null; then break; fi
  if ! kill -0 "$telegram_pid" 2>/dev/null; then
    echo "run.sh: the fake Telegram server exited: $(cat "$tmp/telegram.log")" >&2
    exit 1
  fi
  sleep 0.1
done
telegram_port="$(sed -n 's/^PORT //p' "$tmp/telegram.out")"
[[ -n "$telegram_port" ]] || { echo "run.sh: the fake Telegram server never listened" >&2; exit 1; }
export TELEGRAM_API_URL="http://127.0.0.1:$telegram_port"
# Small parts, so the demo backups go to Telegram in several messages.
export TELEGRAM_PART_SIZE=4KiB

# S3 configured, so the page offers it; no test here uploads (nothing listens there).
export S3_ENDPOINT="http://127.0.0.1:9" S3_BUCKET=ui-test S3_FORCE_PATH_STYLE=true
export AWS_ACCESS_KEY_ID=ui-test AWS_SECRET_ACCESS_KEY=ui-test-secret

# An age key of the service's, so the page offers encryption (ui_encryption.test.mjs).
age-keygen -o "$tmp/service.agekey" 2>/dev/null
chmod 600 "$tmp/service.agekey"
export AGE_IDENTITY_FILE="$tmp/service.agekey"

port="$(free_port)"
export LISTEN="127.0.0.1:$port"
export JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
export STORAGE_DIR="$tmp/storage"
export LOG_FORMAT="${LOG_FORMAT:-text}"
# Scheduled runs start within a second of their minute (the failing-schedule test).
export SCHEDULER_TICK_SECONDS=1 SCHEDULE_JITTER_SECONDS=0
mkdir -p "$STORAGE_DIR"
"$bin" serve >"$tmp/serve.log" 2>&1 &
server_pid=$!
# The same service and database as an API server without a Telegram bot (no
# worker, no scheduler: the jobs it accepts are run by the server above).
bare_port="$(free_port)"
env -u TELEGRAM_BOT_TOKEN LISTEN="127.0.0.1:$bare_port" "$bin" serve --no-worker --no-scheduler \
  >"$tmp/serve-no-telegram.log" 2>&1 &
bare_pid=$!

url="http://$LISTEN"
for _ in $(seq 1 150); do
  if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: the server exited during start-up" >&2
    exit 1
  fi
  sleep 0.2
done
curl -fsS -o /dev/null "$url/healthz" || { echo "run.sh: $url/healthz never answered" >&2; exit 1; }
bare_url="http://127.0.0.1:$bare_port"
for _ in $(seq 1 150); do
  if curl -fsS -o /dev/null "$bare_url/healthz" 2>/dev/null; then break; fi
  sleep 0.2
done
curl -fsS -o /dev/null "$bare_url/healthz" || { echo "run.sh: $bare_url/healthz never answered" >&2; exit 1; }

export TB_URL="$url"
export TB_URL_NO_TELEGRAM="$bare_url"
export TB_TOKEN_DEMO="$("$bin" token --project demo --ttl 1h)"
export TB_TOKEN_MULTI="$("$bin" token --project demo --project other --ttl 1h)"
export TB_LONG_PROJECT=northwind_regional_logistics_and_warehousing_division_nordrhein_westfalen_archive
export TB_TOKEN_LONG="$("$bin" token --project demo --project "$TB_LONG_PROJECT" --ttl 1h)"
export TB_TOKEN_BROKEN="$("$bin" token --project broken --ttl 1h)"
# Expired an hour ago (well past the server's leeway); same secret, so only exp is wrong.
export TB_TOKEN_EXPIRED="$(/usr/bin/python3 -c '
import jwt, os, time
now = int(time.time())
print(jwt.encode({"sub": "ui-test", "project_id": "demo", "iat": now - 7200, "exp": now - 3600},
                 os.environ["JWT_SECRET"], algorithm="HS256"))')"
export TB_ARTIFACTS="$here/artifacts"
export TB_TMP="$tmp"
mkdir -p "$TB_ARTIFACTS"

cd "$here"
# Extra arguments go to node, e.g. --test-name-pattern='375 px' to run a few tests. The files
# run in name order (ui.test.mjs first: its exports make the backups the
# failure, layout and encryption tests use; ui_rows and ui_wcag last, on the
# backups of all the others).
node --test --test-concurrency=1 "$@" ui.test.mjs ui_encryption.test.mjs ui_failures.test.mjs \
  ui_layout.test.mjs ui_promises.test.mjs ui_rows.test.mjs ui_wcag.test.mjs
