// The "export" job: pg_dump of the project's schema → compression → SHA-256 →
// local file (atomic) → Telegram parts (when asked), then one transaction
// records the backups row and completes the job. A failure at any step leaves
// no row saying completed.
//
// With Telegram, the local copy is committed first and recorded in the job's
// progress ("export"); a retried attempt reuses that file when its SHA-256
// still matches (so its Telegram parts confirmed earlier are not sent again),
// and the file is removed when the job gives up for good.
//
// The "telegram_send" job (POST /api/backups/{id}/telegram) sends an existing
// backup's local copy to the project's chat and adds the Telegram location.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>

#include "backup/export.hpp"
#include "backup/replay_identity.hpp"
#include "core/ids.hpp"
#include "core/public_text.hpp"
#include "core/units.hpp"
#include "destinations/local.hpp"
#include "io/hash.hpp"
#include "notify/email.hpp"
#include "store/backups.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "workflows/files.hpp"
#include "workflows/handlers.hpp"
#include "workflows/project_lock.hpp"
#include "workflows/restore_job.hpp"
#include "workflows/telegram.hpp"
#include "workflows/telegram_jobs.hpp"

namespace tb::workflows {
namespace {

// The local copy an earlier attempt of this job committed (progress "export").
struct LocalCopy {
  std::string file_name;
  SystemTime created_at{};
  std::string sha256;
  std::uint64_t size_bytes = 0;
  std::uint64_t dump_bytes = 0;
  boost::json::value locations;
  std::string path;  // absolute
};

boost::json::object to_progress(const LocalCopy& c) {
  return boost::json::object{
      {"file_name", c.file_name},
      {"created_at_us",
       std::chrono::duration_cast<std::chrono::microseconds>(c.created_at.time_since_epoch()).count()},
      {"sha256", c.sha256},
      {"size_bytes", c.size_bytes},
      {"dump_bytes", c.dump_bytes},
      {"locations", c.locations}};
}

std::optional<LocalCopy> earlier_local_copy(const Dependencies& deps, const boost::json::value& progress) {
  if (!progress.is_object()) return std::nullopt;
  auto* e = progress.as_object().if_contains("export");
  if (!e || !e->is_object()) return std::nullopt;
  try {
    const auto& o = e->as_object();
    LocalCopy c;
    c.file_name = std::string(o.at("file_name").as_string());
    c.created_at = SystemTime{std::chrono::duration_cast<SystemTime::duration>(
        std::chrono::microseconds(o.at("created_at_us").to_number<std::int64_t>()))};
    c.sha256 = std::string(o.at("sha256").as_string());
    c.size_bytes = o.at("size_bytes").to_number<std::uint64_t>();
    c.dump_bytes = o.at("dump_bytes").to_number<std::uint64_t>();
    c.locations = o.at("locations");
    auto path = local_file_of(deps.options.storage_dir, c.locations);
    if (!path) return std::nullopt;
    c.path = *path;
    return c;
  } catch (const std::exception& ex) {
    spdlog::warn("export: unreadable progress record of an earlier attempt: {}", ex.what());
    return std::nullopt;
  }
}

// A notice e-mail never fails the backup: its error is logged.
void notify_by_email(const Dependencies& deps, const std::string& to, const std::string& subject,
                     const std::string& text) {
  if (deps.options.smtp.url.empty() || to.empty()) return;
  try {
    notify::send_email(deps.options.smtp, {to, subject, text});
  } catch (const std::exception& e) {
    spdlog::warn("notice e-mail to {} failed: {}", to, e.what());
  }
}

// `committed_path` is set once a local copy awaiting its Telegram upload exists.
jobs::JobOutcome run_export_job(const Dependencies& deps, jobs::JobContext& ctx, std::string& committed_path) {
  const auto& job = ctx.job();
  const auto payload = jobs::payload_of<model::ExportPayload>(ctx);
  auto& conn = ctx.db();
  auto project = store::get_project(conn, job.project_id.value_or(""));
  if (!project) throw jobs::PermanentError("project '" + job.project_id.value_or("") + "' no longer exists");
  // A restore of the same project replaces the schema: the dump waits for it
  // (and a restore waits for a running dump) instead of reading a half-replaced schema.
  // Its sessions (the lock's, pg_dump's) carry the attempt's name, so that if
  // this worker freezes past its lease the project's next job can end them
  // instead of waiting for it (ProjectLock).
  const auto session = job_session_name(job);
  ProjectLock project_lock(deps.options.database_url, project->id, session, ctx.cancel_flag(),
                           project_lock_options(deps));
  auto settings = store::get_backup_settings(conn, project->id);

  auto created = deps.clock.now();
  const auto& format = payload.format;
  const auto& compression = payload.compression;
  const auto storage_path = payload.storage_path.value_or("");
  const bool to_telegram = payload.wants_telegram();
  auto chat_id = payload.telegram_chat_id.value_or(settings.telegram_chat_id.value_or(""));
  if (to_telegram && (deps.options.telegram.bot_token.empty() || chat_id.empty())) {
    throw jobs::PermanentError("telegram destination failed: Telegram is not configured (bot token or chat id missing)");
  }

  auto started = std::chrono::steady_clock::now();
  std::optional<LocalCopy> copy;
  if (to_telegram) {
    // A retry after the local commit: reuse that file if it is intact.
    if (auto earlier = earlier_local_copy(deps, job.progress)) {
      std::error_code ec;
      if (std::filesystem::file_size(earlier->path, ec) == earlier->size_bytes && !ec &&
          io::sha256_file(earlier->path) == earlier->sha256) {
        copy = std::move(earlier);
        spdlog::info("job {}: reusing the local copy of an earlier attempt ({})", job.id, copy->file_name);
      } else {
        std::filesystem::remove(earlier->path, ec);
      }
    }
  }
  if (!copy) {
    // LocalDestination re-checks the folder against the real filesystem: it may
    // have changed (a symlink planted) since the request was accepted.
    // A storage_path outside the project's folder (a job queued before that
    // rule) is refused for good.
    if (!storage_path.empty()) {
      try {
        destinations::resolve_project_storage_path(deps.options.storage_dir, project->id, storage_path);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kValidation) throw;
        throw jobs::PermanentError(e.message(), e.detail());
      }
    }
    destinations::LocalDestination local(deps.options.storage_dir, storage_path.empty() ? project->id : storage_path);
    backup::DumpSource source{deps.options.pg_bin_dir, with_application_name(deps.options.database_url, session),
                              "tenant_" + project->slug};
    backup::ExportOptions options;
    options.format = backup::parse_format(format);
    options.compression = backup::parse_compression(compression);
    options.timeout = deps.options.pg_dump_timeout;

    destinations::ObjectInfo info{project->id,
                                  backup::file_name_for(project->slug, created, options.format, options.compression, job.id.substr(0, 8)),
                                  backup::content_type_for(options.format, options.compression)};
    auto result = backup::run_export(
        source, options, {&local}, info,
        [&](std::uint64_t dump_bytes) {
          ctx.report_progress(boost::json::object{{"dump_bytes", dump_bytes}});
        },
        ctx.cancel_flag());
    LocalCopy c;
    c.file_name = info.file_name;
    c.created_at = created;
    c.sha256 = result.sha256_hex;
    c.size_bytes = result.size_bytes;
    c.dump_bytes = result.dump_bytes;
    c.locations = result.locations;
    c.path = local_file_of(deps.options.storage_dir, c.locations).value_or("");
    copy = std::move(c);
  }
  created = copy->created_at;
  if (to_telegram) committed_path = copy->path;
  boost::json::array locations = copy->locations.is_array() ? copy->locations.as_array() : boost::json::array{};
  if (to_telegram) {
    boost::json::object base{{"dump_bytes", copy->dump_bytes}, {"export", to_progress(*copy)}};
    ctx.report_progress(base);
    TelegramUpload up;
    up.path = copy->path;
    up.file_name = copy->file_name;
    up.size = copy->size_bytes;
    up.sha256 = copy->sha256;
    up.chat_id = chat_id;
    up.project_id = project->id;
    up.created_at = copy->created_at;
    locations.push_back(upload_to_telegram(deps.options.telegram, ctx, up, base));
  }
  // An attempt whose lock was broken (judged stale while frozen) records
  // nothing, even if its lease guard would still pass: the project's next job
  // already runs. The file it made would be listed by no backup.
  try {
    project_lock.ensure_held();
  } catch (const std::exception&) {
    if (!to_telegram && !copy->path.empty()) {
      std::error_code ec;
      std::filesystem::remove(copy->path, ec);
    }
    throw;
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  store::Backup row;
  row.id = new_uuid();
  row.project_id = project->id;
  row.job_id = job.id;
  row.kind = payload.kind;
  row.format = format;
  row.compression = compression;
  row.status = model::BackupStatus::kCompleted;
  row.size_bytes = static_cast<std::int64_t>(copy->size_bytes);
  row.sha256 = copy->sha256;
  row.locations = locations;
  row.created_at = created;
  row.expires_at = created + std::chrono::hours(24) * settings.retention_days;
  // Who owns the schema: a later restore into a schema that no longer exists
  // gives the restored objects back to this role.
  if (auto owner = backup::schema_owner(ctx.db(), project->schema()); !owner.empty()) row.schema_owner = owner;

  boost::json::object out{{"backup_id", row.id},
                          {"size_bytes", copy->size_bytes},
                          {"dump_bytes", copy->dump_bytes},
                          {"sha256", copy->sha256},
                          {"locations", locations},
                          {"file_name", copy->file_name},
                          {"seconds", seconds}};
  jobs::JobOutcome outcome;
  outcome.result = out;
  outcome.in_completion_tx = [row](db::Connection& tx) { store::insert_backup(tx, row); };
  auto email = payload.notify_email.value_or("");
  auto file_name = copy->file_name;
  auto size = copy->size_bytes;
  outcome.after_commit = [&deps, email, project = *project, row, file_name, size]() {
    notify_by_email(deps, email, "Backup of " + project.id + " completed",
                    "The backup of project " + project.id + " (schema tenant_" + project.slug + ") completed.\n\n" +
                        "File:    " + file_name + "\nSize:    " + human_size(size) + "\nSHA-256: " + row.sha256.value_or("") +
                        "\nExpires: " + format_rfc3339(*row.expires_at) + "\nBackup:  " + row.id + "\n");
  };
  return outcome;
}

// The failure notice goes out once, when no attempt is left.
jobs::JobOutcome export_job_with_notice(const Dependencies& deps, jobs::JobContext& ctx) {
  std::string committed_path;
  try {
    return run_export_job(deps, ctx, committed_path);
  } catch (const std::exception& e) {
    const auto& job = ctx.job();
    bool permanent = dynamic_cast<const jobs::PermanentError*>(&e) != nullptr;
    if (permanent || job.attempts >= job.max_attempts) {
      // No backup will list the local copy made for this job: remove it.
      if (!committed_path.empty()) {
        std::error_code ec;
        std::filesystem::remove(committed_path, ec);
      }
      std::string email;
      try {
        email = jobs::payload_of<model::ExportPayload>(ctx).notify_email.value_or("");
      } catch (const std::exception&) {
        // An unreadable payload names no address to tell.
      }
      const auto* err = dynamic_cast<const Error*>(&e);
      notify_by_email(deps, email, "Backup of " + job.project_id.value_or("") + " FAILED",
                      "The backup of project " + job.project_id.value_or("") + " failed after " + std::to_string(job.attempts) +
                          " attempt(s):\n\n" + (err ? hide_internals(err->message()) : std::string("internal error")) + "\n");
    }
    throw;
  }
}

// POST /api/backups/{id}/telegram: the backup's local copy → Telegram parts;
// the completion transaction adds the Telegram location to the backup.
jobs::JobOutcome run_telegram_send_job(const Dependencies& deps, jobs::JobContext& ctx) {
  const auto payload = jobs::payload_of<model::TelegramSendPayload>(ctx);
  auto backup = store::get_backup(ctx.db(), payload.backup_id);
  if (!backup) throw jobs::PermanentError("backup '" + payload.backup_id + "' no longer exists");
  if (backup->status != model::BackupStatus::kCompleted) {
    throw jobs::PermanentError("backup is " + std::string(model::to_string(backup->status)) + ", not sent");
  }
  if (auto existing = telegram_location_of(backup->locations)) {
    // Already there (an earlier job won): nothing to send.
    jobs::JobOutcome outcome;
    outcome.result = boost::json::object{{"backup_id", backup->id}, {"locations", backup->locations}};
    return outcome;
  }
  auto settings = store::get_backup_settings(ctx.db(), backup->project_id);
  auto chat_id = payload.telegram_chat_id.value_or(settings.telegram_chat_id.value_or(""));
  auto path = local_file_of(deps.options.storage_dir, backup->locations);
  if (!path || !std::filesystem::exists(*path)) {
    throw jobs::PermanentError("the local copy of this backup is gone: nothing to send to Telegram");
  }
  if (!backup->sha256 || io::sha256_file(*path) != *backup->sha256) {
    throw jobs::PermanentError("the local copy does not match its SHA-256: it is damaged and will not be sent");
  }
  TelegramUpload up;
  up.path = *path;
  up.file_name = std::filesystem::path(*path).filename().string();
  up.size = static_cast<std::uint64_t>(backup->size_bytes);
  up.sha256 = *backup->sha256;
  up.chat_id = chat_id;
  up.project_id = backup->project_id;
  up.created_at = backup->created_at.value_or(deps.clock.now());
  auto location = upload_to_telegram(deps.options.telegram, ctx, up, boost::json::object{});

  jobs::JobOutcome outcome;
  outcome.result = boost::json::object{{"backup_id", backup->id}, {"telegram", location}};
  auto id = backup->id;
  outcome.in_completion_tx = [id, location](db::Connection& tx) {
    // Re-read inside the transaction: the locations may have changed meanwhile.
    auto current = store::get_backup(tx, id);
    if (!current) return;
    boost::json::array locations = current->locations.is_array() ? current->locations.as_array() : boost::json::array{};
    for (const auto& l : locations) {
      if (l.is_object() && l.as_object().contains("type") && l.as_object().at("type") == "telegram") return;
    }
    locations.push_back(location);
    store::update_backup_locations(tx, id, locations);
  };
  return outcome;
}

}  // namespace

std::map<std::string, jobs::Handler> job_handlers(const Dependencies& deps) {
  using model::JobType;
  auto type_name = [](JobType t) { return std::string(model::to_string(t)); };
  return {
      {type_name(JobType::kExport), [&deps](jobs::JobContext& ctx) { return export_job_with_notice(deps, ctx); }},
      {type_name(JobType::kRestore), [&deps](jobs::JobContext& ctx) { return run_restore_job(deps, ctx); }},
      {type_name(JobType::kTelegramSend),
       [&deps](jobs::JobContext& ctx) { return run_telegram_send_job(deps, ctx); }},
      {type_name(JobType::kTelegramFetch),
       [&deps](jobs::JobContext& ctx) { return run_telegram_fetch_job(deps, ctx); }},
      {type_name(JobType::kTelegramDelete),
       [&deps](jobs::JobContext& ctx) { return run_telegram_delete_job(deps, ctx); }},
  };
}

}  // namespace tb::workflows
