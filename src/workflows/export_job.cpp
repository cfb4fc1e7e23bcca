#include "workflows/export_job.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <optional>

#include "age/keys.hpp"
#include "backup/export.hpp"
#include "backup/manifest.hpp"
#include "backup/replay_identity.hpp"
#include "core/ids.hpp"
#include "core/public_text.hpp"
#include "core/units.hpp"
#include "destinations/local.hpp"
#include "destinations/s3.hpp"
#include "fleet/tenant_archive.hpp"
#include "model/compression_level.hpp"
#include "store/backups.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "workflows/export_copy.hpp"
#include "workflows/files.hpp"
#include "workflows/notice.hpp"
#include "workflows/project_lock.hpp"
#include "workflows/s3_copies.hpp"
#include "workflows/telegram.hpp"

namespace tb::workflows {
namespace {

// What one attempt works from, read once the project's lock is held.
struct ExportPlan {
  model::ExportPayload payload;
  store::Project project;
  store::BackupSettings settings;
  std::string session;  // the attempt's session name: its lock and its pg_dump
  std::string chat_id;  // where Telegram parts go (payload.wants_telegram())
  bool to_s3 = false;
  // A local file is written for "local", and for Telegram (which sends it in
  // parts); without "local" (s3 + telegram) it is removed when the job ends.
  bool local_file = true;
  bool local_temporary = false;
  // Non-empty: the backup is an age file to these (the service's first).
  std::vector<age::Recipient> recipients;
  std::chrono::steady_clock::time_point started;
};

// The project may have been deleted since the job was queued: nothing to dump, ever.
store::Project project_of_job(jobs::JobContext& ctx) {
  const auto id = ctx.job().project_id.value_or("");
  auto project = store::get_project(ctx.db(), id);
  if (!project) throw_not_found("project '" + id + "' no longer exists");
  return *project;
}

// An encrypting project's recipients: the service's own first (so that it can
// restore the backup), then the tenant's. A project that asks for encryption
// on a server without an identity fails for good rather than writing
// plaintext.
std::vector<age::Recipient> recipients_of(const Dependencies& deps,
                                          const model::EncryptionSettings& encryption) {
  if (!encryption.enabled) return {};
  const auto& identities = deps.options.age_identities;
  if (identities.empty()) {
    throw_conflict(
        "this project's backups are to be encrypted, but this service holds no age key "
        "(AGE_IDENTITY_FILE is unset); no unencrypted backup was written");
  }
  std::vector<age::Recipient> out{age::recipient_of(identities.front())};
  for (std::size_t i = 0; i < encryption.recipients.size(); ++i) {
    auto r = age::parse_recipient(encryption.recipients[i],
                                  "encryption.recipients[" + std::to_string(i) + "]");
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

// Settings are read under the lock: the Telegram chat falls back to the
// project's current one. Telegram without a token or chat cannot work on any
// retry, so it fails for good.
ExportPlan plan_export(const Dependencies& deps, jobs::JobContext& ctx,
                       model::ExportPayload payload, store::Project project) {
  ExportPlan plan;
  plan.payload = std::move(payload);
  plan.project = std::move(project);
  plan.session = job_session_name(ctx.job());
  plan.settings = store::get_backup_settings(ctx.db(), plan.project.id);
  plan.chat_id =
      plan.payload.telegram_chat_id.value_or(plan.settings.telegram_chat_id.value_or(""));
  if (plan.payload.wants_telegram() && deps.options.telegram.bot_token.empty()) {
    throw_conflict(
        "this server cannot send to Telegram (no Telegram bot is set up on it): remove Telegram "
        "from the project's destinations, or ask the server's administrator to set one up");
  }
  if (plan.payload.wants_telegram() && plan.chat_id.empty()) {
    throw_conflict("no Telegram chat is set for this project: set its chat id in the settings");
  }
  plan.to_s3 = plan.payload.wants("s3");
  if (plan.to_s3 && !deps.options.s3.configured) {
    throw_conflict("s3 destination failed: S3 is not configured (S3_BUCKET is unset)");
  }
  plan.recipients = recipients_of(deps, plan.settings.encryption);
  plan.local_file = !plan.to_s3 || plan.payload.wants("local") || plan.payload.wants_telegram();
  plan.local_temporary = plan.local_file && !plan.payload.wants("local") && plan.to_s3;
  plan.started = std::chrono::steady_clock::now();
  return plan;
}

// Only a Telegram export commits its local copy before the job ends; a retry
// after that commit reuses the file if it is intact.
std::optional<LocalCopy> reuse_earlier_copy(const Dependencies& deps, jobs::JobContext& ctx,
                                            const ExportPlan& plan) {
  if (!plan.payload.wants_telegram()) return std::nullopt;
  auto copy = intact_earlier_copy(deps.options.storage_dir, ctx.job().progress);
  if (copy)
    spdlog::info("job {}: reusing the local copy of an earlier attempt ({})", ctx.job().id,
                 copy->file_name);
  return copy;
}

// A fleet run's tenant is cut out of its batch's dump on its first attempt,
// when the dump is complete (pg_dump writes toc.dat last). A retry runs the
// tenant's own pg_dump: whatever failed, it fails or succeeds alone.
std::optional<std::string> fleet_batch_to_cut(jobs::JobContext& ctx, const ExportPlan& plan) {
  if (!plan.payload.fleet || plan.payload.fleet->batch_dir.empty()) return std::nullopt;
  if (ctx.job().attempts > 1) return std::nullopt;
  const auto& dir = plan.payload.fleet->batch_dir;
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/toc.dat", ec)) {
    spdlog::warn("job {}: the fleet batch {} is gone; running pg_dump", ctx.job().id, dir);
    return std::nullopt;
  }
  return dir;
}

// pg_dump → compression → SHA-256 → the destinations, in one pass: the S3
// multipart upload (streamed while the dump runs) and/or an atomic file in
// the project's folder. LocalDestination re-checks the folder against the
// real filesystem: it may have changed (a symlink planted) since the request
// was accepted. A storage_path outside the project's folder (a job queued
// before that rule) is refused for good. S3 commits first: when the local
// commit then fails, the object is at a key the next attempt removes.
LocalCopy dump_backup(const Dependencies& deps, jobs::JobContext& ctx, const ExportPlan& plan) {
  const auto& o = deps.options;
  const auto storage_path = plan.payload.storage_path.value_or("");
  if (!storage_path.empty() && plan.local_file) {
    destinations::resolve_project_storage_path(o.storage_dir, plan.project.id, storage_path);
  }
  // Every progress report carries the S3 upload once it began, so that the
  // next attempt can abort it if this one dies.
  boost::json::object base;
  std::optional<s3::Client> client;
  std::optional<destinations::S3Destination> to_s3;
  std::optional<destinations::LocalDestination> local;
  std::vector<destinations::Destination*> dests;
  if (plan.to_s3) {
    client.emplace(o.s3.client);
    to_s3.emplace(*client, o.s3.prefix, &ctx.cancel_flag(),
                  [&](const std::string& key, const std::string& upload_id) {
                    base["s3_upload"] = s3_upload_record(key, upload_id);
                    ctx.save_progress_now(base);
                  });
    dests.push_back(&*to_s3);
  }
  if (plan.local_file) {
    const auto relative_dir = storage_path.empty() ? plan.project.id : storage_path;
    // An earlier attempt killed mid-write left a temporary file; this attempt
    // writes its own.
    if (ctx.job().attempts > 1)
      remove_temporary_files_of_job(destinations::resolve_storage_path(o.storage_dir, relative_dir),
                                    ctx.job().id);
    local.emplace(o.storage_dir, relative_dir);
    dests.push_back(&*local);
  }
  backup::DumpSource source{o.pg_bin_dir, with_application_name(o.database_url, plan.session),
                            "tenant_" + plan.project.slug};
  backup::ExportOptions options;
  options.format = backup::parse_format(plan.payload.format);
  if (auto batch_dir = fleet_batch_to_cut(ctx, plan)) {
    options.producer = [&o, dir = *batch_dir, schema = source.schema, format = options.format](
                           io::Sink& out, const std::atomic<bool>& cancel) {
      fleet::TenantArchiveOptions cut;
      cut.pg_bin_dir = o.pg_bin_dir;
      cut.timeout = o.pg_dump_timeout;
      fleet::write_tenant_archive(fleet::open_batch(dir), schema, format, out, cut, cancel);
    };
  }
  options.compression = backup::parse_compression(plan.payload.compression);
  const auto fixed = model::fixed_level(plan.payload.compression_level);
  options.zstd_adaptive = !fixed;
  options.zstd_floor = o.zstd_adaptive_min_level;
  options.zstd_ceiling = o.zstd_adaptive_max_level;
  if (o.zstd_workers >= 0) options.zstd_workers = o.zstd_workers;
  if (fixed && options.compression == backup::Compression::kZstd) options.zstd_level = *fixed;
  if (fixed && options.compression == backup::Compression::kGzip) options.gzip_level = *fixed;
  options.timeout = o.pg_dump_timeout;
  options.recipients = plan.recipients;
  const bool encrypted = !options.recipients.empty();
  const auto created = deps.clock.now();
  destinations::ObjectInfo info{
      plan.project.id,
      backup::file_name_for(plan.project.slug, created, options.format, options.compression,
                            ctx.job().id.substr(0, 8), encrypted),
      backup::content_type_for(options.format, options.compression, encrypted)};
  // What S3 refuses (credentials, bucket, access: FORBIDDEN, NOT_FOUND) is
  // not retried; its message says why.
  const auto result = backup::run_export(
      source, options, dests, info,
      [&](std::uint64_t dump_bytes) {
        auto progress = base;
        progress["dump_bytes"] = dump_bytes;
        ctx.report_progress(std::move(progress));
      },
      ctx.cancel_flag());
  LocalCopy c;
  c.file_name = info.file_name;
  c.created_at = created;
  c.sha256 = result.sha256_hex;
  c.size_bytes = result.size_bytes;
  c.dump_bytes = result.dump_bytes;
  c.locations = result.locations;
  c.tables = backup::to_json(result.tables);
  auto levels = result.levels;
  if (!levels.requested.empty()) levels.requested = plan.payload.compression_level;
  c.levels = backup::to_json(levels);
  c.path = local_file_of(o.storage_dir, c.locations).value_or("");
  return c;
}

// Removes what an attempt stored that no backup will list: its local file
// (unless `keep_local`) and its S3 object.
void discard_copy(const Dependencies& deps, const LocalCopy& copy, bool keep_local) {
  if (!keep_local && !copy.path.empty()) {
    std::error_code ec;
    std::filesystem::remove(copy.path, ec);
  }
  delete_s3_copies(deps.options.s3, copy.locations);
}

// The copy's locations, plus its Telegram parts when asked. The local copy is
// on record in the progress before the first part goes out (a retry reuses it).
boost::json::array upload_copy(const Dependencies& deps, jobs::JobContext& ctx,
                               const ExportPlan& plan, const LocalCopy& copy) {
  boost::json::array locations =
      copy.locations.is_array() ? copy.locations.as_array() : boost::json::array{};
  if (!plan.payload.wants_telegram()) return locations;
  boost::json::object base{{"dump_bytes", copy.dump_bytes}, {"export", to_progress(copy)}};
  ctx.report_progress(base);
  TelegramUpload up{copy.path,    copy.file_name,  copy.size_bytes, copy.sha256,
                    plan.chat_id, plan.project.id, copy.created_at};
  locations.push_back(upload_to_telegram(deps.options.telegram, ctx, up, base));
  return locations;
}

// An attempt whose lock was broken (judged stale while frozen) records
// nothing, even if its lease guard would still pass: the project's next job
// already runs. The file it made would be listed by no backup.
void ensure_lock_still_held(const Dependencies& deps, ProjectLock& lock, const ExportPlan& plan,
                            const LocalCopy& copy) {
  try {
    lock.ensure_held();
  } catch (const std::exception&) {
    // With Telegram, the next attempt reuses the copy (and its S3 object).
    if (!plan.payload.wants_telegram()) discard_copy(deps, copy, false);
    throw;
  }
}

// The row lists no temporary local file (s3 + telegram without "local").
boost::json::array without_temporary_file(const ExportPlan& plan, boost::json::array locations) {
  if (!plan.local_temporary) return locations;
  boost::json::array out;
  for (auto& loc : locations) {
    const auto* type = loc.is_object() ? loc.as_object().if_contains("type") : nullptr;
    if (!(type && type->is_string() && type->as_string() == "local")) out.push_back(std::move(loc));
  }
  return out;
}

// The backups row is inserted by the transaction that completes the job: the
// row and the job's `completed` commit together or not at all.
jobs::JobOutcome complete_export(const Dependencies& deps, jobs::JobContext& ctx,
                                 const ExportPlan& plan, const LocalCopy& copy,
                                 boost::json::array locations) {
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - plan.started).count();
  store::Backup row;
  row.id = new_uuid();
  row.project_id = plan.project.id;
  row.job_id = ctx.job().id;
  row.kind = plan.payload.kind;
  row.format = plan.payload.format;
  row.compression = plan.payload.compression;
  row.compression_level = copy.levels;
  row.status = model::BackupStatus::kCompleted;
  row.size_bytes = static_cast<std::int64_t>(copy.size_bytes);
  row.sha256 = copy.sha256;
  // What was written decides, not today's settings: a retry reuses the copy
  // of an earlier attempt as it is.
  row.encrypted = copy.file_name.ends_with(".age");
  row.locations = without_temporary_file(plan, locations);
  if (plan.payload.fleet) row.fleet_run = plan.payload.fleet->run;
  row.tables = copy.tables;
  row.created_at = copy.created_at;
  row.expires_at = copy.created_at + std::chrono::hours(24) * plan.settings.retention_days;
  // Who owns the schema: a later restore into a schema that no longer exists
  // gives the restored objects back to this role.
  if (auto owner = backup::schema_owner(ctx.db(), plan.project.schema()); !owner.empty())
    row.schema_owner = owner;

  jobs::JobOutcome outcome;
  outcome.result = boost::json::object{{"backup_id", row.id},
                                       {"size_bytes", copy.size_bytes},
                                       {"dump_bytes", copy.dump_bytes},
                                       {"sha256", copy.sha256},
                                       {"locations", locations},
                                       {"file_name", copy.file_name},
                                       {"seconds", seconds},
                                       {"compression_level", row.compression_level}};
  outcome.in_completion_tx = [row](db::Connection& tx) { store::insert_backup(tx, row); };
  outcome.result.as_object()["locations"] = row.locations;
  outcome.result.as_object()["encrypted"] = row.encrypted;
  outcome.result.as_object()["tables"] = row.tables;
  outcome.after_commit = [&deps, email = plan.payload.notify_email.value_or(""),
                          project = plan.project, row, file_name = copy.file_name,
                          size = copy.size_bytes,
                          temporary = plan.local_temporary ? copy.path : std::string()]() {
    // A process that dies before this leaves an unlisted file: the orphan sweep removes it.
    if (!temporary.empty()) {
      std::error_code ec;
      std::filesystem::remove(temporary, ec);
    }
    notify_by_email(deps, email, "Backup of " + project.id + " completed",
                    "The backup of project " + project.id + " (schema tenant_" + project.slug +
                        ") completed.\n\n" + "File:    " + file_name +
                        "\nSize:    " + human_size(size) + "\nSHA-256: " + row.sha256.value_or("") +
                        "\nExpires: " + format_rfc3339(*row.expires_at) + "\nBackup:  " + row.id +
                        "\n");
  };
  return outcome;
}

// `committed` is set once a copy awaiting its Telegram upload exists.
jobs::JobOutcome run_export_job(const Dependencies& deps, jobs::JobContext& ctx,
                                std::optional<LocalCopy>& committed) {
  auto payload = jobs::payload_of<model::ExportPayload>(ctx);
  auto project = project_of_job(ctx);
  // A restore of the same project replaces the schema: the dump waits for it
  // (and a restore waits for a running dump) instead of reading a half-replaced schema.
  auto lock = lock_project_for_job(deps, ctx, project.id);
  const auto plan = plan_export(deps, ctx, std::move(payload), std::move(project));
  auto copy = reuse_earlier_copy(deps, ctx, plan);
  // An earlier attempt that died mid-upload left an unfinished upload (or an
  // object no backup lists): abort and remove it, keeping a reused copy's.
  discard_earlier_upload(deps.options.s3, ctx.job().progress,
                         copy ? live_s3_key(copy->locations).value_or("") : std::string());
  if (!copy) copy = dump_backup(deps, ctx, plan);
  if (plan.payload.wants_telegram()) committed = copy;
  auto locations = upload_copy(deps, ctx, plan, *copy);
  ensure_lock_still_held(deps, lock, plan, *copy);
  return complete_export(deps, ctx, plan, *copy, std::move(locations));
}

// The notify_email of a payload that may not parse (then there is nobody to tell).
std::string notice_address(const store::Job& job) {
  try {
    return model::from_json<model::ExportPayload>(job.payload).notify_email.value_or("");
  } catch (const std::exception&) {
    return {};
  }
}

// No attempt is left: no backup will list the local copy made for this job,
// and the failure notice goes out (once).
void give_up(const Dependencies& deps, const store::Job& job,
             const std::optional<LocalCopy>& committed, const std::string& reason) {
  if (committed) discard_copy(deps, *committed, false);
  notify_by_email(deps, notice_address(job), "Backup of " + job.project_id.value_or("") + " FAILED",
                  "The backup of project " + job.project_id.value_or("") + " failed after " +
                      std::to_string(job.attempts) + " attempt(s):\n\n" + reason + "\n");
}

}  // namespace

jobs::JobOutcome export_job_with_notice(const Dependencies& deps, jobs::JobContext& ctx) {
  std::optional<LocalCopy> committed;
  const bool last_attempt = ctx.job().attempts >= ctx.job().max_attempts;
  try {
    return run_export_job(deps, ctx, committed);
  } catch (const Error& e) {
    // The worker retries by the same rule (the code), so this is the attempt
    // that ends the job when it is the last or its error is not retryable.
    if (last_attempt || !is_retryable(e.code()))
      give_up(deps, ctx.job(), committed, hide_internals(e.message()));
    throw;
  } catch (const std::exception&) {
    if (last_attempt) give_up(deps, ctx.job(), committed, "internal error");
    throw;
  }
}

void export_lost_for_good(const Dependencies& deps, const store::Job& job) {
  // The lost attempt may have committed a local copy (and S3 objects) for its
  // Telegram upload; intact or not, no backup row will ever list it.
  std::optional<LocalCopy> committed;
  try {
    committed = intact_earlier_copy(deps.options.storage_dir, job.progress);
  } catch (const std::exception& e) {
    spdlog::warn("job {}: the lost attempt's local copy: {}", job.id, e.what());
  }
  // A worker killed mid-dump leaves its half-written temporary file: removed
  // now, before the owner hears of the failure, not an hour later by the
  // orphan sweep.
  try {
    auto payload = model::from_json<model::ExportPayload>(job.payload);
    remove_temporary_files_of_job(
        destinations::resolve_storage_path(
            deps.options.storage_dir, payload.storage_path.value_or(job.project_id.value_or(""))),
        job.id);
  } catch (const std::exception& e) {
    spdlog::warn("job {}: the lost attempt's temporary file: {}", job.id, e.what());
  }
  give_up(deps, job, committed,
          "the worker running its last attempt was lost (" +
              job.last_error.value_or("lease expired") + ")");
}

}  // namespace tb::workflows
