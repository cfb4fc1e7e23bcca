#include "workflows/verify_job.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "backup/restore.hpp"
#include "backup/scratch_database.hpp"
#include "core/public_text.hpp"
#include "store/audit.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "workflows/backup_file.hpp"
#include "workflows/notice.hpp"
#include "workflows/restore_job.hpp"

namespace tb::workflows {
namespace {

constexpr std::size_t kTokenLength = 16;  // hex digits of the job id: tb_verify_<16>

// The job's id as the scratch database's token (lowercase hex, no dashes).
std::string token_of(const std::string& job_id) {
  std::string token;
  for (char c : job_id) {
    if (std::isxdigit(static_cast<unsigned char>(c)))
      token += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return token.substr(0, kTokenLength);
}

struct Subject {
  model::VerifyPayload payload;
  store::Backup backup;
  store::Project project;
  backup::Manifest manifest;
};

Subject load_subject(const Dependencies& deps, jobs::JobContext& ctx) {
  Subject s;
  s.payload = jobs::payload_of<model::VerifyPayload>(ctx);
  auto backup = store::get_backup(ctx.db(), s.payload.backup_id);
  if (!backup || backup->project_id != ctx.job().project_id.value_or(""))
    throw_not_found("backup '" + s.payload.backup_id + "' not found");
  auto project = store::get_project(ctx.db(), backup->project_id);
  if (!project) throw_not_found("project '" + backup->project_id + "' no longer exists");
  require_verifiable(*backup, deps.clock.now());
  if (deps.options.verify_database_url.empty()) throw_conflict(std::string(kVerifyNotConfigured));
  s.manifest = *backup::manifest_from_json(backup->tables);
  s.backup = std::move(*backup);
  s.project = std::move(*project);
  return s;
}

// A refusal about the backup itself (its file is gone or damaged, it does
// not replay): a verification that failed. Cancels and what a retry may
// cure are not.
bool about_the_backup(const Error& e) {
  return e.code() != ErrorCode::kCancelled && !is_retryable(e.code());
}

// Replays the backup into the scratch database as its own role and counts
// the rows; "" when every table matches the manifest, else what does not.
std::string restore_and_compare(const Dependencies& deps, jobs::JobContext& ctx, const Subject& s,
                                const std::string& path) {
  backup::ScratchDatabase scratch(deps.options.verify_database_url, token_of(ctx.job().id),
                                  deps.options.pg_dump_timeout);
  backup::RestoreTarget target;
  target.pg_bin_dir = deps.options.pg_bin_dir;
  target.identity = scratch.identity();
  target.schema = s.project.schema();
  target.aside_schema = backup::aside_schema_name(target.schema, deps.clock.now());
  backup::RestoreOptions options;
  options.format = backup::parse_format(s.backup.format);
  options.compression = backup::parse_compression(s.backup.compression);
  options.expected_sha256 = *s.backup.sha256;
  options.encrypted = s.backup.encrypted;
  options.identities = deps.options.age_identities;
  options.timeout = deps.options.pg_dump_timeout;
  try {
    backup::run_restore(
        target, path, options,
        [&](std::uint64_t bytes) {
          ctx.report_progress(boost::json::object{{"file_bytes", bytes}});
        },
        ctx.cancel_flag());
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kCancelled) throw;
    // Whatever stops a replay (psql's own error included) is the backup's
    // failure here: it would stop a real restore the same way.
    spdlog::warn("verify job {}: the restore failed: {} ({})", ctx.job().id, e.message(),
                 e.detail());
    return e.message();
  }
  return compare_with_manifest(s.manifest, scratch.count_rows(target.schema));
}

store::AuditEntry audit_entry(const Subject& s, const std::string& outcome) {
  store::AuditEntry e;
  e.project_id = s.project.id;
  e.actor = !s.payload.requested_by.empty() ? s.payload.requested_by
                                            : (s.payload.kind == "scheduled" ? "schedule" : "cli");
  e.action = "backup.verify";
  e.target = s.backup.id;
  e.outcome = outcome;
  return e;
}

// Records the failure on the backup, counts it, audits it and e-mails the
// project's notify address; then fails the job for good.
[[noreturn]] void fail_verification(const Dependencies& deps, jobs::JobContext& ctx,
                                    const Subject& s, const std::string& why) {
  const std::string detail = hide_internals(why);
  const auto now = deps.clock.now();
  store::record_verification(ctx.db(), s.backup.id, {"failed", now, detail});
  store::append_audit(ctx.db(), audit_entry(s, "failed: " + detail));
  if (deps.verification_failures) deps.verification_failures->inc();
  const auto settings = store::get_backup_settings(ctx.db(), s.project.id);
  notify_by_email(deps, settings.notify_email.value_or(""),
                  "Verification of a backup of " + s.project.id + " FAILED",
                  "A test restore of backup " + s.backup.id + " of project " + s.project.id +
                      " (schema " + s.project.schema() + ", made " +
                      format_rfc3339(*s.backup.created_at) +
                      ") into a scratch database failed:\n\n" + detail +
                      "\n\nThe live schema was not touched. Make a new backup and verify it.\n");
  throw Error(ErrorCode::kConflict, "the verification failed: " + detail);
}

}  // namespace

void require_verifiable(const store::Backup& backup, SystemTime now) {
  require_restorable(backup, now);
  if (!backup::manifest_from_json(backup.tables)) {
    throw_conflict(
        "this backup was made before backups recorded their tables: there is no manifest to "
        "compare a restore with");
  }
}

store::Job enqueue_verify(db::Connection& conn, const store::Backup& backup, SystemTime now,
                          const model::VerifyPayload& payload, int max_attempts) {
  require_verifiable(backup, now);
  return store::enqueue_job(conn, store::new_job(payload, backup.project_id, max_attempts));
}

std::string compare_with_manifest(const backup::Manifest& manifest,
                                  const std::map<std::string, std::uint64_t>& restored) {
  std::vector<std::string> problems;
  std::map<std::string, std::uint64_t> expected;
  for (const auto& t : manifest) expected[t.name] = t.rows;
  for (const auto& [name, rows] : expected) {
    auto it = restored.find(name);
    if (it == restored.end()) {
      problems.push_back("table \"" + name + "\" is in the manifest (" + std::to_string(rows) +
                         " rows) but was not restored");
    } else if (it->second != rows) {
      problems.push_back("table \"" + name + "\": " + std::to_string(rows) +
                         " rows in the manifest, " + std::to_string(it->second) + " restored");
    }
  }
  for (const auto& [name, rows] : restored) {
    if (!expected.contains(name)) {
      problems.push_back("table \"" + name + "\" was restored (" + std::to_string(rows) +
                         " rows) but is not in the manifest");
    }
  }
  constexpr std::size_t kShown = 10;
  std::string out;
  for (std::size_t i = 0; i < problems.size() && i < kShown; ++i)
    out += (i ? "; " : "") + problems[i];
  if (problems.size() > kShown)
    out += "; and " + std::to_string(problems.size() - kShown) + " more";
  return out;
}

jobs::JobOutcome run_verify_job(const Dependencies& deps, jobs::JobContext& ctx) {
  const auto s = load_subject(deps, ctx);
  const auto started = std::chrono::steady_clock::now();
  std::string failure;
  {
    FetchedFile fetched;
    std::string path;
    try {
      path = locate_backup_file(
          deps.options, s.backup,
          FetchPlace{"verify-" + token_of(ctx.job().id), false, "; nothing was verified"},
          ctx.cancel_flag(), fetched);
    } catch (const Error& e) {
      if (!about_the_backup(e)) throw;
      failure = e.message();
    }
    if (failure.empty()) failure = restore_and_compare(deps, ctx, s, path);
  }
  if (!failure.empty()) fail_verification(deps, ctx, s, failure);

  std::uint64_t rows = 0;
  for (const auto& t : s.manifest) rows += t.rows;
  const std::string detail =
      "every table matches the manifest: " + std::to_string(s.manifest.size()) + " tables, " +
      std::to_string(rows) + " rows";
  jobs::JobOutcome outcome;
  outcome.result = boost::json::object{
      {"backup_id", s.backup.id},
      {"status", "passed"},
      {"detail", detail},
      {"tables", s.manifest.size()},
      {"rows", rows},
      {"seconds",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}};
  outcome.in_completion_tx = [s, detail, at = deps.clock.now()](db::Connection& tx) {
    store::record_verification(tx, s.backup.id, {"passed", at, detail});
    store::append_audit(tx, audit_entry(s, "passed"));
  };
  return outcome;
}

int sweep_verify_leftovers(const Options& options, db::Connection& control) {
  if (options.verify_database_url.empty()) return 0;
  return backup::sweep_scratch(options.verify_database_url, [&](const std::string& token) {
    return !control
                .query(
                    "SELECT 1 FROM control_plane.jobs WHERE type = 'verify' AND status IN "
                    "('pending', 'running') AND left(replace(id::text, '-', ''), $2) = $1",
                    token, static_cast<int>(kTokenLength))
                .empty();
  });
}

}  // namespace tb::workflows
