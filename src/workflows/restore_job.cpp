// The "restore" job: load the backup, find its file, take the project lock,
// run backup::run_restore (SHA-256 first, then the age decryption of an
// encrypted backup, in one transaction), report which
// schema was set aside. Refusals (a damaged file, a dump straying outside
// its schema, a backup no longer restorable) fail the job permanently; the
// schema is unchanged in every failing case.
#include "workflows/restore_job.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>
#include <utility>

#include "backup/restore.hpp"
#include "store/audit.hpp"
#include "store/job_queries.hpp"
#include "store/projects.hpp"
#include "workflows/backup_file.hpp"

namespace tb::workflows {

void require_restorable(const store::Backup& backup, SystemTime now) {
  using model::BackupStatus;
  if (backup.status == BackupStatus::kDeleted)
    throw_conflict("this backup was deleted and cannot be restored");
  if (backup.status == BackupStatus::kExpired || (backup.expires_at && *backup.expires_at <= now)) {
    throw_conflict("this backup has expired and cannot be restored");
  }
  if (backup.status != BackupStatus::kCompleted) {
    throw_conflict("this backup is " + std::string(model::to_string(backup.status)) +
                   " and cannot be restored");
  }
  if (!backup.sha256) throw_conflict("this backup has no checksum and cannot be restored");
}

store::Job enqueue_restore(db::Connection& conn, const store::Backup& backup, SystemTime now,
                           const std::string& requested_by) {
  require_restorable(backup, now);
  db::Transaction tx(conn);
  // Serialises the check and the insert per project.
  store::lock_project_row(conn, backup.project_id);
  if (auto running = store::active_project_job(conn, backup.project_id, model::JobType::kRestore)) {
    throw Error(ErrorCode::kConflict, "a restore of this project is already pending or running",
                "restore job " + *running);
  }
  auto created =
      store::enqueue_job(conn, store::new_job(model::RestorePayload{backup.id, requested_by},
                                              backup.project_id, /*max_attempts=*/1));
  tx.commit();
  return created;
}

namespace {

// The backup and its project, loaded when the job starts: either may have
// been deleted since the request, or the backup may have expired; none of
// that heals by retrying.
struct RestoreSubject {
  store::Backup backup;
  store::Project project;
};
RestoreSubject load_subject(const Dependencies& deps, jobs::JobContext& ctx,
                            const model::RestorePayload& payload) {
  auto backup = store::get_backup(ctx.db(), payload.backup_id);
  if (!backup || backup->project_id != ctx.job().project_id.value_or("")) {
    throw_not_found("backup '" + payload.backup_id + "' not found");
  }
  auto project = store::get_project(ctx.db(), backup->project_id);
  if (!project) throw_not_found("project '" + backup->project_id + "' no longer exists");
  require_restorable(*backup, deps.clock.now());  // CONFLICT: fails the job at once
  return RestoreSubject{std::move(*backup), std::move(*project)};
}

// The replay runs as the tenant (the schema's owner), never as the service:
// see backup/replay_identity.hpp. Its login is disabled again when this
// object goes, whichever way the restore ended. psql/pg_restore carry the
// attempt's session name too: when this attempt is judged stale, its open
// restore transaction is terminated (rolled back) along with the lock.
class ReplayLogin {
 public:
  ReplayLogin(const Dependencies& deps, jobs::JobContext& ctx, const RestoreSubject& s)
      : conn_(ctx.db()),
        identity_(backup::prepare_replay_identity(
            conn_, with_application_name(deps.options.database_url, job_session_name(ctx.job())),
            s.project.slug, s.backup.schema_owner.value_or(""), deps.options.pg_dump_timeout)) {}
  ~ReplayLogin() { backup::retire_replay_identity(conn_, identity_); }
  ReplayLogin(const ReplayLogin&) = delete;
  ReplayLogin& operator=(const ReplayLogin&) = delete;
  const backup::ReplayIdentity& identity() const { return identity_; }

 private:
  db::Connection& conn_;
  backup::ReplayIdentity identity_;
};

// Where the replay goes: the project's schema, the current one set aside
// under a timestamped name, as the replay login.
backup::RestoreTarget restore_target(const Dependencies& deps, jobs::JobContext& ctx,
                                     const RestoreSubject& s, const ReplayLogin& login) {
  backup::RestoreTarget target;
  target.pg_bin_dir = deps.options.pg_bin_dir;
  target.identity = login.identity();
  target.schema = s.project.schema();
  target.aside_schema = backup::aside_schema_name(s.project.schema(), deps.clock.now());
  // The last statement before COMMIT: this attempt still owns its job, and
  // the row stays share-locked until the COMMIT, so the queue cannot hand
  // the job on in between. A worker frozen after ensure_held() and resumed
  // after its lease expired therefore commits nothing. (A SECURITY DEFINER
  // function: the replay login may not read the queue itself.)
  const auto& job = ctx.job();
  target.commit_precondition =
      "PERFORM control_plane.restore_may_commit(" + backup::quote_literal(job.id) + "::uuid, " +
      std::to_string(job.attempts) + ", " + backup::quote_literal(ctx.worker_id()) + ");";
  return target;
}

// SHA-256 first, then one transaction. A damaged file or a dump straying
// outside its schema will be the same on every retry: the job fails for good.
backup::RestoreResult replay_backup(const Dependencies& deps, jobs::JobContext& ctx,
                                    const store::Backup& backup,
                                    const backup::RestoreTarget& target, const std::string& path) {
  backup::RestoreOptions options;
  options.format = backup::parse_format(backup.format);
  options.compression = backup::parse_compression(backup.compression);
  options.expected_sha256 = *backup.sha256;
  options.encrypted = backup.encrypted;
  options.identities = deps.options.age_identities;
  options.timeout = deps.options.pg_dump_timeout;
  // ChecksumMismatch, NotDecryptable and OutsideSchema are CONFLICT: not retried.
  return backup::run_restore(
      target, path, options,
      [&](std::uint64_t bytes) {
        ctx.report_progress(boost::json::object{{"file_bytes", bytes}});
      },
      ctx.cancel_flag());
}

// The result names the set-aside schema (null when there was none) and when
// retention drops it; the audit entry commits with the job.
jobs::JobOutcome complete_restore(const Dependencies& deps, jobs::JobContext& ctx,
                                  const model::RestorePayload& payload, const RestoreSubject& s,
                                  const backup::RestoreTarget& target,
                                  const backup::RestoreResult& result,
                                  std::chrono::steady_clock::time_point started) {
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Did the schema exist (and so was set aside)? The transaction committed:
  // the catalog says so exactly.
  const bool aside =
      !ctx.db()
           .query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", target.aside_schema)
           .empty();
  boost::json::object out{
      {"backup_id", s.backup.id},      {"schema", target.schema}, {"file_bytes", result.file_bytes},
      {"sql_bytes", result.sql_bytes}, {"seconds", seconds},      {"owner", target.identity.owner}};
  out["pre_restore_schema"] =
      aside ? boost::json::value(target.aside_schema) : boost::json::value(nullptr);
  if (aside)
    out["pre_restore_expires_at"] = format_rfc3339(deps.clock.now() + deps.options.restore_keep);
  jobs::JobOutcome outcome;
  outcome.result = out;
  outcome.in_completion_tx = [project_id = s.project.id, backup_id = s.backup.id,
                              actor = payload.requested_by](db::Connection& tx) {
    store::AuditEntry e;
    e.project_id = project_id;
    e.actor = actor.empty() ? "cli" : actor;
    e.action = "backup.restore";
    e.target = backup_id;
    e.outcome = "completed";
    store::append_audit(tx, e);
  };
  // The restore committed before the job row: if the job's completion is
  // discarded (lease lost), the data is restored all the same; say so.
  outcome.on_discarded = [job_id = ctx.job().id, schema = target.schema]() {
    spdlog::warn("restore job {}: schema {} was restored but the job's completion was discarded",
                 job_id, schema);
  };
  return outcome;
}

}  // namespace

jobs::JobOutcome run_restore_job(const Dependencies& deps, jobs::JobContext& ctx) {
  const auto payload = jobs::payload_of<model::RestorePayload>(ctx);
  const auto subject = load_subject(deps, ctx, payload);
  FetchedFile fetched;
  const auto path =
      locate_backup_file(deps.options, subject.backup,
                         FetchPlace{"restore-" + subject.backup.id, true, "; nothing was restored"},
                         ctx.cancel_flag(), fetched);
  auto lock = lock_project_for_job(deps, ctx, subject.project.id);
  const auto started = std::chrono::steady_clock::now();
  ReplayLogin login(deps, ctx, subject);
  const auto target = restore_target(deps, ctx, subject, login);
  // Waiting may have taken long: if this attempt was judged stale meanwhile
  // (its lock broken), it must not start replacing the schema.
  lock.ensure_held();
  const auto result = replay_backup(deps, ctx, subject.backup, target, path);
  return complete_restore(deps, ctx, payload, subject, target, result, started);
}

}  // namespace tb::workflows
