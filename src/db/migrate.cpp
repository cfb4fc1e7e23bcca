#include "db/migrate.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace tb::db {
namespace {

// Arbitrary constant shared by every tenant-backup process ("tbmigr" in
// ASCII); used only while control_plane.schema_migrations does not exist.
constexpr long long kMigrationLockKey = 0x74626d696772LL;

// Version 1: the control plane (projects, settings, jobs, backups, audit log).
//
// Backup statuses: completed (every destination confirmed; the only state a
// new row is inserted in, from the job's completion transaction), failed
// (kept for history when a caller records one), deleted (by a user; files
// removed), expired (removed by retention). There is no "partial": a backup
// that did not reach every destination is not completed and not recorded.
const char* kV1 = R"SQL(
CREATE TABLE control_plane.projects (
  id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,100}$'),
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9_]{1,56}$'),
  name        text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE control_plane.jobs (
  id               uuid PRIMARY KEY,
  type             text NOT NULL,
  project_id       text REFERENCES control_plane.projects(id),
  payload          jsonb NOT NULL DEFAULT '{}',
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  attempts         int NOT NULL DEFAULT 0,
  max_attempts     int NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  run_at           timestamptz NOT NULL DEFAULT now(),
  locked_by        text,
  locked_until     timestamptz,
  progress         jsonb,
  result           jsonb,
  last_error       text,
  errors           jsonb NOT NULL DEFAULT '[]',
  cancel_requested boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz,
  idempotency_key  text UNIQUE
);
CREATE INDEX jobs_claim_idx ON control_plane.jobs (status, run_at);
CREATE INDEX jobs_project_idx ON control_plane.jobs (project_id, created_at DESC);
CREATE INDEX jobs_lease_idx ON control_plane.jobs (locked_until) WHERE status = 'running';

-- New jobs wake idle workers (LISTEN tb_jobs); the payload is the job type.
CREATE FUNCTION control_plane.notify_job_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tb_jobs', NEW.type);
  RETURN NEW;
END $$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON control_plane.jobs
  FOR EACH ROW EXECUTE FUNCTION control_plane.notify_job_insert();

CREATE TABLE control_plane.backups (
  id           uuid PRIMARY KEY,
  project_id   text NOT NULL REFERENCES control_plane.projects(id),
  job_id       uuid REFERENCES control_plane.jobs(id) ON DELETE SET NULL,
  kind         text NOT NULL DEFAULT 'manual' CHECK (kind IN ('manual', 'scheduled')),
  format       text NOT NULL CHECK (format IN ('sql', 'tar')),
  compression  text NOT NULL CHECK (compression IN ('zstd', 'gzip', 'none')),
  status       text NOT NULL DEFAULT 'completed'
               CHECK (status IN ('completed', 'failed', 'deleted', 'expired')),
  size_bytes   bigint NOT NULL DEFAULT 0,
  sha256       text,
  locations    jsonb NOT NULL DEFAULT '[]',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  deleted_at   timestamptz,
  error        text
);
CREATE INDEX backups_page_idx ON control_plane.backups (project_id, created_at DESC, id DESC);
CREATE INDEX backups_expiry_idx ON control_plane.backups (expires_at) WHERE status = 'completed';
CREATE INDEX backups_job_idx ON control_plane.backups (job_id);

CREATE TABLE control_plane.audit_log (
  id          bigserial PRIMARY KEY,
  project_id  text,
  actor       text NOT NULL DEFAULT '',
  action      text NOT NULL,
  target      text NOT NULL DEFAULT '',
  ip          text NOT NULL DEFAULT '',
  outcome     text NOT NULL DEFAULT '',
  detail      jsonb NOT NULL DEFAULT '{}',
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_project_idx ON control_plane.audit_log (project_id, at DESC, id DESC);

CREATE TABLE control_plane.backup_settings (
  project_id        text PRIMARY KEY REFERENCES control_plane.projects(id),
  schedule          text NOT NULL DEFAULT 'off',
  retention_days    int NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 3650),
  destinations      jsonb NOT NULL DEFAULT '["local"]',
  telegram_chat_id  text,
  notify_email      text,
  format            text NOT NULL DEFAULT 'sql' CHECK (format IN ('sql', 'tar')),
  compression       text NOT NULL DEFAULT 'zstd' CHECK (compression IN ('zstd', 'gzip', 'none')),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
)SQL";

// Version 2: expiry notices (workflows/retention). expiry_notice_for is the
// expires_at a notice was sent for: NULL or a different date (retention
// applied to existing backups) means a notice is still due.
const char* kV2 = R"SQL(
ALTER TABLE control_plane.backups ADD COLUMN expiry_notice_for timestamptz;
)SQL";

// Version 3: the claim. claim_job takes the first pending job in (run_at,
// created_at) order. With the old (status, run_at) index every claim read and
// sorted all pending rows (8 ms per claim with 3,000 queued), so a backlog
// slowed its own draining. The partial index below is in claim order and
// holds only pending rows, so a claim reads the first unlocked entry and
// stops; but a queue table's statistics are usually stale (analyzed while it
// was nearly empty), and the planner then still prefers a bitmap scan plus a
// sort. The claim therefore runs in a function that turns those two off for
// its own statement only (plpgsql also keeps the plan for the session).
const char* kV3 = R"SQL(
CREATE INDEX jobs_pending_claim_idx ON control_plane.jobs (run_at, created_at) WHERE status = 'pending';
DROP INDEX control_plane.jobs_claim_idx;
CREATE FUNCTION control_plane.claim_next_job(p_worker text, p_lease_ms bigint, p_types text[])
RETURNS SETOF control_plane.jobs
LANGUAGE plpgsql
SET enable_bitmapscan = off
SET enable_sort = off
AS $fn$
BEGIN
  RETURN QUERY
  UPDATE control_plane.jobs j
     SET status = 'running', attempts = j.attempts + 1, locked_by = p_worker,
         locked_until = now() + p_lease_ms * interval '1 millisecond', started_at = now()
   WHERE j.id = (SELECT c.id FROM control_plane.jobs c
                  WHERE c.status = 'pending' AND c.run_at <= now()
                    AND (cardinality(p_types) = 0 OR c.type = ANY (p_types))
                  ORDER BY c.run_at, c.created_at
                  LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING j.*;
END
$fn$;
)SQL";

// Version 4: restores replay as the tenant, never as the service.
// - backups.schema_owner: who owned the schema when it was dumped (the owner
//   of a restore into a schema that no longer exists).
// - replay_logins: which tenant schema each replay login role (tb_replay_*)
//   may set aside. Only the service writes it; the replay roles have no
//   privilege on it.
// - set_schema_aside(): the replay's first step when the live schema belongs
//   to a privileged role (the service's own, e.g. the demo), which the replay
//   login may not rename. SECURITY DEFINER, pinned search_path, and only for
//   the schema registered to the calling session's login.
// - restore_may_commit(): the replay's last statement before COMMIT: the job's
//   attempt still owns it; the row stays share-locked until the COMMIT. Only
//   for a restore job of the caller's own project.
const char* kV4 = R"SQL(
ALTER TABLE control_plane.backups ADD COLUMN schema_owner text;

CREATE TABLE control_plane.replay_logins (
  login        name PRIMARY KEY,
  schema_name  name NOT NULL
);

CREATE FUNCTION control_plane.set_schema_aside(p_schema text, p_aside text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM control_plane.replay_logins l
                 WHERE l.login OPERATOR(pg_catalog.=) session_user
                   AND l.schema_name OPERATOR(pg_catalog.=) p_schema) THEN
    RAISE EXCEPTION 'this session may not set schema % aside', p_schema USING ERRCODE = '42501';
  END IF;
  IF pg_catalog.strpos(p_aside, '__pre_restore_') OPERATOR(pg_catalog.=) 0
     OR p_aside OPERATOR(pg_catalog.=) p_schema THEN
    RAISE EXCEPTION 'not a set-aside schema name: %', p_aside USING ERRCODE = '42501';
  END IF;
  EXECUTE pg_catalog.format('ALTER SCHEMA %I RENAME TO %I', p_schema, p_aside);
END $f$;
REVOKE ALL ON FUNCTION control_plane.set_schema_aside(text, text) FROM PUBLIC;

CREATE FUNCTION control_plane.restore_may_commit(p_job uuid, p_attempt int, p_worker text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  PERFORM 1 FROM control_plane.jobs j
    JOIN control_plane.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id
    JOIN control_plane.replay_logins l
      ON l.schema_name OPERATOR(pg_catalog.=) ('tenant_' OPERATOR(pg_catalog.||) p.slug)
   WHERE j.id OPERATOR(pg_catalog.=) p_job AND j.type OPERATOR(pg_catalog.=) 'restore'
     AND l.login OPERATOR(pg_catalog.=) session_user
     AND j.attempts OPERATOR(pg_catalog.=) p_attempt AND j.locked_by OPERATOR(pg_catalog.=) p_worker
     AND j.status OPERATOR(pg_catalog.=) 'running' AND j.locked_until OPERATOR(pg_catalog.>) pg_catalog.now()
     FOR SHARE OF j;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this restore attempt no longer owns its job (its lease ran out)';
  END IF;
END $f$;
REVOKE ALL ON FUNCTION control_plane.restore_may_commit(uuid, int, text) FROM PUBLIC;
)SQL";

// Version 5: locks tenants cannot take (store/locks), and slugs that cannot
// pass for a restore's set-aside schema.
// - control_plane.locks: a row per lock name, locked FOR NO KEY UPDATE by its
//   holder. Replaces the advisory locks of the project lock and the scheduler
//   leader, which any role that can log in could take. PUBLIC gets nothing,
//   whatever default privileges the database has.
// - A slug containing "__pre_restore" would make the project's live schema
//   look like another project's (or its own) set-aside schema, which the
//   retention sweep drops. NOT VALID: existing rows are not checked (the
//   sweep protects project schemas anyway), new and changed rows are.
const char* kV5 = R"SQL(
CREATE TABLE control_plane.locks (
  name text PRIMARY KEY
);
REVOKE ALL ON control_plane.locks FROM PUBLIC;
INSERT INTO control_plane.locks (name) VALUES ('scheduler leader');
ALTER TABLE control_plane.projects ADD CONSTRAINT projects_slug_not_aside
  CHECK (strpos(slug, '__pre_restore') = 0) NOT VALID;
)SQL";

// Version 6: the history lists runs, not only stored files. An export job
// that ends `failed` (whichever way: its handler's last attempt, a refusal,
// or a lease that ran out on the last attempt) leaves, in the same
// transaction, a backups row in status `failed` with the job's last public
// reason and its code, and an audit entry, so a failed scheduled run is seen
// in the history and the activity. Such a row lists no location (no file,
// nothing to download, restore or send) and is removed by the retention
// sweep at its expires_at (created_at + the project's retention days). The
// payload's values are checked here too: a row is written even for a
// payload that cannot be read.
const char* kV6 = R"SQL(
ALTER TABLE control_plane.backups ADD COLUMN error_code text;
CREATE INDEX backups_failed_expiry_idx ON control_plane.backups (expires_at) WHERE status = 'failed';
CREATE INDEX backups_completed_idx ON control_plane.backups (project_id, created_at DESC) WHERE status = 'completed';

CREATE FUNCTION control_plane.record_failed_export() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  v_kind text := NEW.payload->>'kind';
  v_format text := NEW.payload->>'format';
  v_compression text := NEW.payload->>'compression';
  v_reason text := coalesce(nullif(NEW.last_error, ''), 'the backup failed');
  v_days int;
BEGIN
  IF NEW.project_id IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT s.retention_days INTO v_days FROM control_plane.backup_settings s
   WHERE s.project_id = NEW.project_id;
  INSERT INTO control_plane.backups (id, project_id, job_id, kind, format, compression, status,
                                     locations, created_at, expires_at, error, error_code)
  VALUES (gen_random_uuid(), NEW.project_id, NEW.id,
          CASE WHEN v_kind IN ('manual', 'scheduled') THEN v_kind ELSE 'manual' END,
          CASE WHEN v_format IN ('sql', 'tar') THEN v_format ELSE 'sql' END,
          CASE WHEN v_compression IN ('zstd', 'gzip', 'none') THEN v_compression ELSE 'zstd' END,
          'failed', '[]', NEW.created_at,
          NEW.created_at + make_interval(days => coalesce(v_days, 30)),
          v_reason, NEW.errors -> -1 ->> 'code');
  INSERT INTO control_plane.audit_log (project_id, actor, action, target, outcome)
  VALUES (NEW.project_id, CASE WHEN v_kind = 'scheduled' THEN 'schedule' ELSE 'tenant-backup' END,
          'backup.export', NEW.id::text, 'failed: ' || v_reason);
  RETURN NEW;
END
$fn$;
CREATE TRIGGER jobs_record_failed_export AFTER UPDATE OF status ON control_plane.jobs
  FOR EACH ROW WHEN (NEW.type = 'export' AND NEW.status = 'failed'
                     AND OLD.status IS DISTINCT FROM 'failed')
  EXECUTE FUNCTION control_plane.record_failed_export();
)SQL";

// Version 7: encryption at rest. A project's settings say whether its new
// backups are age files and to which of the tenant's own keys (besides the
// service's); a backup row says whether its stored bytes are one, so a
// restore knows to decrypt whatever the settings say today.
const char* kV7 = R"SQL(
ALTER TABLE control_plane.backup_settings
  ADD COLUMN encryption_enabled boolean NOT NULL DEFAULT false,
  ADD COLUMN encryption_recipients jsonb NOT NULL DEFAULT '[]';
ALTER TABLE control_plane.backups ADD COLUMN encrypted boolean NOT NULL DEFAULT false;
)SQL";

// Version 8: fleet runs. A fleet run's tenants are export jobs that name it
// (payload.fleet.run); the run counts them while it waits, so they are found
// by an index, not a scan of every job ever run. A backup says which fleet
// run made it.
const char* kV8 = R"SQL(
CREATE INDEX jobs_fleet_run_idx ON control_plane.jobs ((payload -> 'fleet' ->> 'run'))
  WHERE payload ? 'fleet';
ALTER TABLE control_plane.backups ADD COLUMN fleet_run uuid;
)SQL";

// Version 9: verified backups. backups.tables is the manifest counted from
// the dump stream ([{"name", "rows"}]; NULL for backups made before it); the
// verification_* columns hold the last verification's result (a restore into
// a scratch database compared with the manifest). backup_settings.verify_schedule
// is a schedule like `schedule`: at each slot the newest completed backup is
// verified.
const char* kV9 = R"SQL(
ALTER TABLE control_plane.backups
  ADD COLUMN tables jsonb,
  ADD COLUMN verification_status text CHECK (verification_status IN ('passed', 'failed')),
  ADD COLUMN verified_at timestamptz,
  ADD COLUMN verification_detail text;
ALTER TABLE control_plane.backup_settings ADD COLUMN verify_schedule text NOT NULL DEFAULT 'off';
)SQL";

// Version 10: compression levels. A project chooses "adaptive" (the default:
// zstd's level follows the spare CPU) or a fixed level; a backup records the
// levels its export used, so a size can be explained afterwards.
const char* kV10 = R"SQL(
ALTER TABLE control_plane.backup_settings
  ADD COLUMN compression_level text NOT NULL DEFAULT 'adaptive'
    CHECK (compression_level = 'adaptive' OR compression_level ~ '^([1-9]|1[0-9])$');
ALTER TABLE control_plane.backups ADD COLUMN compression_level jsonb;
)SQL";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1, "control plane: projects, jobs, backups, audit_log, backup_settings", kV1},
      {2, "backups.expiry_notice_for (expiry notices)", kV2},
      {3, "jobs: partial index in claim order", kV3},
      {4,
       "restores replay as the tenant: backups.schema_owner, replay_logins, set_schema_aside, "
       "restore_may_commit",
       kV4},
      {5, "locks tenants cannot take; slugs that are not set-aside schema names", kV5},
      {6, "failed exports are listed: backups.error_code, record_failed_export trigger", kV6},
      {7, "encryption at rest: backup_settings.encryption_*, backups.encrypted", kV7},
      {8, "fleet runs: jobs_fleet_run_idx, backups.fleet_run", kV8},
      {9, "verified backups: backups.tables, backups.verification_*, verify_schedule", kV9},
      {10, "compression levels: backup_settings.compression_level, backups.compression_level",
       kV10},
  };
  return all;
}

int migrate(Connection& conn) {
  Transaction tx(conn);
  // The lock is the migrations table itself, which a tenant's role cannot
  // lock (any login could take an advisory lock and hold every start of the
  // service). Only the first start on a fresh database, before that table
  // exists, serialises on an advisory lock.
  if (conn.exec("SELECT to_regclass('control_plane.schema_migrations') IS NULL").boolean(0, 0)) {
    conn.query("SELECT pg_advisory_xact_lock($1::bigint)", kMigrationLockKey);
  }
  conn.exec_script(
      "CREATE SCHEMA IF NOT EXISTS control_plane;"
      "CREATE TABLE IF NOT EXISTS control_plane.schema_migrations ("
      "  version int PRIMARY KEY, name text NOT NULL,"
      "  applied_at timestamptz NOT NULL DEFAULT now());"
      "LOCK TABLE control_plane.schema_migrations IN SHARE ROW EXCLUSIVE MODE");
  std::set<int> applied;
  auto r = conn.exec("SELECT version FROM control_plane.schema_migrations");
  for (int i = 0; i < r.rows(); ++i) applied.insert(static_cast<int>(r.int64(i, 0)));
  int count = 0;
  for (const auto& m : migrations()) {
    if (applied.count(m.version) != 0) continue;
    spdlog::info("migrate: applying version {} ({})", m.version, m.name);
    conn.exec_script(m.sql);
    conn.query("INSERT INTO control_plane.schema_migrations (version, name) VALUES ($1, $2)",
               m.version, m.name);
    ++count;
  }
  if (!applied.empty() && *applied.rbegin() > migrations().back().version) {
    spdlog::warn("migrate: the database has version {}, newer than this binary knows ({})",
                 *applied.rbegin(), migrations().back().version);
  }
  tx.commit();
  return count;
}

int schema_version(Connection& conn) {
  auto r = conn.exec(
      "SELECT CASE WHEN to_regclass('control_plane.schema_migrations') IS NULL THEN 0 END");
  if (!r.is_null(0, 0)) return 0;
  auto v = conn.exec("SELECT coalesce(max(version), 0) FROM control_plane.schema_migrations");
  return static_cast<int>(v.int64(0, 0));
}

}  // namespace tb::db
