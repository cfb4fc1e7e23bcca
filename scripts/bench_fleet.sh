#!/usr/bin/env bash
# The fleet case of `make bench` (scripts/bench.sh runs it at its end; alone:
# `make bench-fleet` or scripts/bench_fleet.sh). For each size N it measures,
# in the same run:
#   1. one `pg_dump -n` per tenant, sampled over the set, two at a time
#      (xargs -P 2), scaled to N: the baseline;
#   2. one `pg_dump` of every tenant schema together (> /dev/null): the floor;
#   3. one tenant's `pg_dump -n` alone (median of 3): the catalog's cost at N;
#   4. a fleet run (`tenant-backup export --all`, served by `serve
#      --no-scheduler`): wall time from the fleet job's created_at to the last
#      tenant job's completed_at, tenants completed and failed, peak RSS of serve
#      (VmHWM after clear_refs) and of its children (pg_dump), peak connections to
#      the database (pg_stat_activity every 0.5 s, bench/fleet_sampler.py), and
#      where its time went (batch dumps, tenants' jobs).
# Then it prints the figures and the targets. Asserts nothing.
#
# The tenant sets are made once and kept: a cluster under BENCH_FLEET_DIR
# (default build/bench-fleet; a real disk), one database per size (fleet_1000,
# fleet_10000...), each copied from the largest complete smaller one and
# completed in chunks of 200 tenants per transaction (a killed run keeps what
# it made). Tenants: tenant_t00001... of 10 tables of 50 rows (bench.sh's
# many-tenant shape), each a project.
#
# Knobs: BENCH_FLEET_TENANTS ("1000 10000"; QUICK=1: "100 300"),
# BENCH_FLEET_SAMPLE (pg_dump -n runs per size, 40; QUICK=1: 20),
# BENCH_FLEET_DIR, BENCH_KEEP=1 (keep the run's folder of logs and backups),
# BENCH_NO_BUILD=1, BENCH_BIN, BENCH_FLEET_GENERATE_ONLY=1 (make the sets and
# stop). One run at a time per BENCH_FLEET_DIR (a lock file). The service
# runs with its defaults (WORKER_CONCURRENCY 2, FLEET_BATCH_TENANTS 200...)
# unless they are set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  sizes=${BENCH_FLEET_TENANTS:-100 300}; sample=${BENCH_FLEET_SAMPLE:-20}
else
  sizes=${BENCH_FLEET_TENANTS:-1000 10000}; sample=${BENCH_FLEET_SAMPLE:-40}
fi
chunk=200
pgbin=/usr/lib/postgresql/15/bin
bin=${BENCH_BIN:-$root/build/release/tenant-backup}

if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
  echo "== building the release preset (tenant-backup)"
  cmake --preset release >/dev/null
  cmake --build --preset release -j "${JOBS:-2}" --target tenant-backup
fi

fleet_dir=${BENCH_FLEET_DIR:-$root/build/bench-fleet}
mkdir -p "$fleet_dir"
fleet_dir=$(realpath "$fleet_dir")
exec 9>"$fleet_dir/lock"
if ! flock -n 9; then echo "another bench_fleet.sh uses $fleet_dir" >&2; exit 1; fi
work=$(mktemp -d "$fleet_dir/run.XXXXXX")
chmod 755 "$work"
results=$work/results.tsv
: >"$results"
serve_pid=""
sampler_pid=""
cleanup() {
  if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
  if [[ -n $serve_pid ]]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  "$root/scripts/pg-embedded.sh" stop "$fleet_dir/pg" || true
  if [[ ${BENCH_KEEP:-0} != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
rec() { local IFS=$'\t'; echo "$*" >>"$results"; }  # rec KIND N VALUE...
load() { uptime | sed 's/.*load average: //'; }

echo "== fleet: sizes $sizes; machine: $(nproc) cores, $(awk '/MemTotal/{print int($2/1024)" MB"}' /proc/meminfo); load $(load)"
echo "   cluster and tenant sets in $fleet_dir ($(df -T "$fleet_dir" | awk 'NR==2{print $2}'))"
bench_start=$(now)

# ---------------------------------------------------------------- cluster
# Kept between runs. Tuned like bench.sh's throwaway cluster; the lock table
# must hold one pg_dump of every table of the largest set (the floor: 10,000
# tenants are 100,000 tables) and a generation chunk.
export TB_PG_PORT=${TB_PG_PORT:-$((50000 + RANDOM % 10000))}
"$root/scripts/pg-embedded.sh" start "$fleet_dir/pg" >/dev/null
if ! grep -q '^# bench-fleet tuning' "$fleet_dir/pg/data/postgresql.conf"; then
  cat >>"$fleet_dir/pg/data/postgresql.conf" <<'CONF'
# bench-fleet tuning
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_wal_size = 4GB
autovacuum = off
max_locks_per_transaction = 1024
CONF
  "$root/scripts/pg-embedded.sh" stop "$fleet_dir/pg"
fi
base=$("$root/scripts/pg-embedded.sh" start "$fleet_dir/pg")
psql() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# Local backups only (bench.sh's s3 and age cases export these).
unset S3_ENDPOINT S3_BUCKET S3_FORCE_PATH_STYLE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AGE_IDENTITY_FILE
export JWT_SECRET=bench-secret-bench-secret-bench-secret-0123456789
export LOG_LEVEL=${LOG_LEVEL:-warn}

# made DB: the highest tenant number made in DB (chunks commit in order)
made() {
  psql "$base dbname=$1" -Atc "SELECT coalesce(max(substr(id, 2)::int), 0) FROM control_plane.projects
                               WHERE id ~ '^t[0-9]{5}$'" 2>/dev/null || echo 0
}
# freeze_tenants DB FROM TO: vacuumed, frozen and analyzed once, so that no
# measured run pays for the first reads' hint bits
freeze_tenants() {
  psql "$base dbname=$1" -Atc "SELECT 'VACUUM (FREEZE, ANALYZE) ' || string_agg(format('%I.%I', schemaname, tablename), ', ')
                               FROM pg_tables WHERE schemaname ~ '^tenant_t[0-9]{5}$'
                                 AND substr(schemaname, 9)::int BETWEEN $2 AND $3" |
    psql "$base dbname=$1" >/dev/null
}
analyze_catalog() {  # the catalog's statistics: pg_dump's queries are planned on them
  psql "$base dbname=$1" -Atc "SELECT format('VACUUM ANALYZE pg_catalog.%I;', relname) FROM pg_stat_sys_tables
                               WHERE schemaname = 'pg_catalog'" | psql "$base dbname=$1" >/dev/null
}
make_tenants() {  # make_tenants DB FROM TO: one transaction
  psql "$base dbname=$1" -v from="$2" -v to="$3" <<'SQL' >/dev/null
SET synchronous_commit = off;
-- psql does not expand :variables inside dollar quotes: pass them as settings
SELECT set_config('bench.from', :'from', false), set_config('bench.to', :'to', false);
DO $$
DECLARE s text; id text; i int; t int;
BEGIN
  FOR i IN current_setting('bench.from')::int .. current_setting('bench.to')::int LOOP
    id := format('t%s', lpad(i::text, 5, '0'));
    s := 'tenant_' || id;
    EXECUTE format('CREATE SCHEMA %I', s);
    FOR t IN 1 .. 10 LOOP
      EXECUTE format('CREATE TABLE %I.tab%s (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), meta jsonb, at timestamptz NOT NULL DEFAULT now())', s, t);
      EXECUTE format($q$INSERT INTO %I.tab%s SELECT g, 'row ' || g || ' of tab%s', g * 1.5, jsonb_build_object('k', g), now() FROM generate_series(1, 50) g$q$, s, t, t);
    END LOOP;
    INSERT INTO control_plane.projects (id, slug, name) VALUES (id, id, s);
  END LOOP;
END $$;
SQL
}
# ensure_set N: database fleet_N with tenants 1..N, made or completed
ensure_set() {
  local n=$1 db=fleet_$1 t0 have from
  t0=$(now)
  if [[ -z $(psql "$base dbname=postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
    local template="" m
    for m in $(psql "$base dbname=postgres" -Atc "SELECT substr(datname, 7)::int AS m FROM pg_database
                                                   WHERE datname ~ '^fleet_[0-9]+$' ORDER BY m DESC"); do
      if ((m < n)) && [[ $(made "fleet_$m") == "$m" ]]; then template=fleet_$m; break; fi
    done
    if [[ -n $template ]]; then
      echo "   $db: a copy of $template"
      sleep 1  # made's session on the template must have gone
      psql "$base dbname=postgres" -c "CREATE DATABASE $db TEMPLATE $template"
    else
      echo "   $db: a new database"
      psql "$base dbname=postgres" -c "CREATE DATABASE $db"
    fi
  fi
  DATABASE_URL="$base dbname=$db" "$bin" migrate >/dev/null
  have=$(made "$db")
  if ((have >= n)); then
    echo "   $db: $have tenants, complete (reused)"
    return
  fi
  echo "   $db: $have tenants made, making $((have + 1))..$n in chunks of $chunk"
  for ((from = have + 1; from <= n; from += chunk)); do
    local to=$((from + chunk - 1 < n ? from + chunk - 1 : n))
    make_tenants "$db" "$from" "$to"
    freeze_tenants "$db" "$from" "$to"
    if (((from - 1) % 2000 == 0 && from > 1)); then echo "     $((from - 1)) tenants, $(elapsed "$t0" "$(now)") s"; fi
  done
  analyze_catalog "$db"
  local s; s=$(elapsed "$t0" "$(now)")
  echo "   $db: made $((n - have)) tenants in $s s"
  rec gen "$n" "$s" "$((n - have))"
}

echo "== tenant sets (10 tables of 50 rows each)"
for n in $sizes; do ensure_set "$n"; done
if [[ ${BENCH_FLEET_GENERATE_ONLY:-0} == 1 ]]; then exit 0; fi

# ---------------------------------------------------------------- measurements
dump() { "$pgbin/pg_dump" --format=plain --no-owner --strict-names --schema="$1" --dbname="$db" >/dev/null; }
# timed_dump SCHEMA: one pg_dump -n; prints its start and end (seconds)
timed_dump() {
  local t0=$EPOCHREALTIME; dump "$1"; echo "$t0 $EPOCHREALTIME"
}
export -f dump timed_dump; export pgbin

start_serve() {
  "$bin" serve --no-scheduler >>"$work/serve-$1.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 600); do
    curl -sf "http://$LISTEN/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "serve did not start; see $work/serve-$1.log" >&2
  exit 1
}
stop_serve() {
  if [[ -n $serve_pid ]]; then kill "$serve_pid"; wait "$serve_pid" || true; serve_pid=""; fi
}
clean_runs() {  # what a fleet run leaves: jobs, backups, their audit
  psql "$db" -c "TRUNCATE control_plane.backups, control_plane.jobs, control_plane.audit_log" >/dev/null
}

for n in $sizes; do
  export db="$base dbname=fleet_$n"
  echo "== $n tenants (load $(load))"
  export DATABASE_URL=$db
  export STORAGE_DIR=$work/backups-$n
  export LISTEN=127.0.0.1:$((40000 + RANDOM % 10000))
  clean_runs
  analyze_catalog "fleet_$n"
  rm -rf "$STORAGE_DIR"; mkdir -p "$STORAGE_DIR"

  # The pg_dump figures first: a fleet run cut short still leaves them.
  # the baseline: one pg_dump -n per tenant, sampled, two at a time
  k=$((sample < n ? sample : n))
  for ((j = 0; j < k; j++)); do printf 'tenant_t%05d\n' $((1 + j * n / k)); done >"$work/sample-$n.txt"
  t0=$(now)
  xargs -P 2 -I{} bash -c 'timed_dump {}' <"$work/sample-$n.txt" >"$work/dumps-$n.txt"
  par=$(elapsed "$t0" "$(now)")
  mean=$(awk '{s += $2 - $1} END {printf "%.4f", s / NR}' "$work/dumps-$n.txt")
  echo "   $k pg_dump -n, 2 at a time: ${par}s (each ${mean}s on average)"
  rec baseline "$n" "$par" "$k" "$mean"

  # the floor: every tenant schema in one pg_dump
  t0=$(now)
  "$pgbin/pg_dump" --format=plain --no-owner --schema='tenant_t*' --dbname="$db" >/dev/null
  floor=$(elapsed "$t0" "$(now)")
  echo "   one pg_dump of the $n schemas: ${floor}s"
  rec floor "$n" "$floor"

  # one tenant's pg_dump -n alone
  mid=$(printf 'tenant_t%05d' $(((n + 1) / 2)))
  one=$(for _ in 1 2 3; do timed_dump "$mid"; done | awk '{printf "%.4f\n", $2 - $1}' | sort -n | sed -n 2p)
  echo "   one tenant's pg_dump -n alone: ${one}s (median of 3)"
  rec one "$n" "$one"
  # the fleet run
  start_serve "$n"
  echo 5 >"/proc/$serve_pid/clear_refs"  # VmHWM from here: the run's own peak
  rss0=$(awk '/VmRSS/{print $2}' "/proc/$serve_pid/status")
  python3 "$root/bench/fleet_sampler.py" "$pgbin/psql" "$base dbname=postgres" "fleet_$n" "$serve_pid" \
    "$work/sample-$n.json" &
  sampler_pid=$!
  load_before=$(load)
  t0=$(now)
  rc=0
  "$bin" export --all >"$work/export-$n.log" 2>&1 || rc=$?
  t1=$(now)
  hwm=$(awk '/VmHWM/{print $2}' "/proc/$serve_pid/status")
  kill "$sampler_pid"; wait "$sampler_pid" || true; sampler_pid=""
  load_after=$(load)
  stop_serve
  read -r _run wall ok failed other batches < <(psql "$db" -Atc "
    SELECT f.id, extract(epoch FROM max(t.completed_at) - f.created_at),
           count(*) FILTER (WHERE t.status = 'completed'), count(*) FILTER (WHERE t.status = 'failed'),
           count(*) FILTER (WHERE t.status NOT IN ('completed', 'failed')), f.result->>'batches'
    FROM control_plane.jobs f JOIN control_plane.jobs t ON t.payload -> 'fleet' ->> 'run' = f.id::text
    WHERE f.type = 'fleet_export' GROUP BY f.id" | tr '|' ' ')
  first_try=$(psql "$db" -Atc "SELECT count(*) FROM control_plane.jobs WHERE type = 'export' AND status = 'completed' AND attempts = 1")
  read -r conns kids kid_hwm <<<"$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
at = ",".join(k.replace(" ", "_") + ":" + str(v) for k, v in sorted(p["connections_at_peak"].items()))
print(p["connections"], at or "-", p["child_hwm_kb"])' "$work/sample-$n.json")"
  # Where the time went: each batch's pg_dump (from the previous batch's last
  # tenant, or the run's start, to its first tenant job) and its tenants' jobs.
  read -r dump_s tenants_s job_avg <<<"$(psql "$db" -Atc "
    WITH f AS (SELECT id, created_at FROM control_plane.jobs WHERE type = 'fleet_export'),
    b AS (SELECT payload -> 'fleet' ->> 'batch_dir' AS d, min(created_at) AS c0, max(completed_at) AS c1
          FROM control_plane.jobs WHERE payload ? 'fleet' GROUP BY 1),
    g AS (SELECT c0, c1, coalesce(lag(c1) OVER (ORDER BY c0), (SELECT created_at FROM f)) AS prev FROM b)
    SELECT round(extract(epoch FROM sum(c0 - prev))::numeric, 1), round(extract(epoch FROM sum(c1 - c0))::numeric, 1),
           (SELECT round(extract(epoch FROM avg(completed_at - started_at))::numeric, 3)
            FROM control_plane.jobs WHERE payload ? 'fleet')
    FROM g" | tr '|' ' ')"
  echo "   fleet run: ${wall}s wall (export --all: exit $rc, $(elapsed "$t0" "$t1") s), $ok completed, $failed failed, $other other; $batches batches"
  echo "     batch dumps ${dump_s}s in all, tenants' jobs ${tenants_s}s in all (one job ${job_avg}s on average)"
  if [[ $ok != "$n" ]]; then
    echo "   !!!!!!!! NOT EVERY TENANT COMPLETED: $ok of $n ($failed failed, $other other); see $work/export-$n.log" >&2
  fi
  rec fleet "$n" "$wall" "$ok" "$failed" "$hwm" "$rss0" "$conns" "$kids" "$kid_hwm" "$load_before" "$load_after" "$batches" "$first_try" "$rc" "$dump_s" "$tenants_s" "$job_avg"
  clean_runs
  rm -rf "$STORAGE_DIR"

done

# ---------------------------------------------------------------- report
echo
echo "== fleet results (load at the end: $(load); total $(elapsed "$bench_start" "$(now)") s)"
python3 - "$results" <<'PY'
import sys
from collections import defaultdict
d = defaultdict(dict)
for line in open(sys.argv[1]):
    r = line.rstrip("\n").split("\t")
    d[r[0]][int(r[1])] = r[2:]
targets = {1000: 4, 10000: 20}
def verdict(ok): return "holds" if ok else "MISSED"
for n, g in sorted(d["gen"].items()):
    print(f"generation: {g[1]} tenants added to fleet_{n} in {float(g[0]):.0f} s")
print(f"{'N':>6} {'fleet s':>9} {'ms/tenant':>10} {'tenants/s':>10} {'pg_dump -n s':>13} {'baseline s':>11} "
      f"{'ratio':>7} {'floor s':>8} {'fleet/floor':>12} {'one -n s':>9} {'RSS MB':>7} {'conns':>6}")
for n in sorted(d["fleet"]):
    f = d["fleet"][n]
    wall, ok, failed = float(f[0] or "nan"), int(f[1]), int(f[2])
    par, k, mean = (float(x) for x in d["baseline"][n])
    base = par * n / k
    floor = float(d["floor"][n][0]); one = float(d["one"][n][0])
    print(f"{n:>6} {wall:>9.1f} {wall / n * 1000:>10.1f} {n / wall:>10.1f} {mean:>13.3f} {base:>11.1f} "
          f"{base / wall:>7.2f} {floor:>8.1f} {wall / floor:>12.2f} {one:>9.3f} {int(f[3]) / 1024:>7.1f} {f[5]:>6}")
print()
for n in sorted(d["fleet"]):
    f = d["fleet"][n]
    wall = float(f[0] or "nan")
    par, k, mean = (float(x) for x in d["baseline"][n])
    base = par * n / k
    ratio = base / wall
    t = targets.get(n)
    print(f"N={n}: {int(f[1])} of {n} tenants completed, {f[2]} failed"
          f"{'' if int(f[1]) == n else '  <<<<<<<< NOT ALL TENANTS COMPLETED'}; {f[10]} batches; "
          f"{f[11]} completed at their first attempt; export --all exit {f[12]}")
    print(f"  ratio baseline/fleet {ratio:.2f}" + (f" (target >= {t}: {verdict(ratio >= t)})" if t else "")
          + f"; baseline = {k:.0f} sampled pg_dump -n, 2 at a time, {par:.1f} s, x {n}/{k:.0f}")
    print(f"  peak RSS of serve {int(f[3]) / 1024:.1f} MB (target < 64: {verdict(int(f[3]) / 1024 < 64)}; "
          f"{int(f[4]) / 1024:.1f} MB before the run); largest child (pg_dump) {int(f[7]) / 1024:.1f} MB")
    print(f"  peak connections to fleet_{n}: {f[5]} ({f[6]}); load before {f[8]}, after {f[9]}")
    print(f"  stages: batch pg_dumps {f[13]} s in all, tenants' jobs {f[14]} s in all "
          f"(one tenant job {f[15]} s on average, two at a time)")
ns = sorted(d["fleet"])
if len(ns) > 1:
    per = [float(d["fleet"][n][0]) / n * 1000 for n in ns]
    growth = per[-1] / per[0]
    print(f"per-tenant cost {' -> '.join(f'{p:.1f} ms' for p in per)} from {ns[0]} to {ns[-1]} tenants: "
          f"x{growth:.2f} (flat within 1.5x: {verdict(growth <= 1.5)})")
PY
