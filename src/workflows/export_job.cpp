// The "export" job: pg_dump of the project's schema → compression → SHA-256 →
// local file (atomic), then one transaction records the backups row and
// completes the job. A failure at any step leaves no file under a final name
// and no row saying completed.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>

#include "backup/export.hpp"
#include "core/ids.hpp"
#include "destinations/local.hpp"
#include "notify/email.hpp"
#include "store/backups.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "workflows/handlers.hpp"
#include "workflows/restore_job.hpp"

namespace tb::workflows {
namespace {

std::string string_field(const boost::json::object& o, std::string_view key, std::string_view fallback) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string(fallback);
}

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// A notice e-mail never fails the backup: its error is logged.
void notify_by_email(const Dependencies& deps, const std::string& to, const std::string& subject,
                     const std::string& text) {
  if (deps.config.smtp_url.empty() || to.empty()) return;
  try {
    notify::send_email(notify::SmtpOptions{deps.config.smtp_url, deps.config.smtp_from}, {to, subject, text});
  } catch (const std::exception& e) {
    spdlog::warn("notice e-mail to {} failed: {}", to, e.what());
  }
}

jobs::JobOutcome run_export_job(const Dependencies& deps, jobs::JobContext& ctx) {
  const auto& job = ctx.job();
  const auto& payload = job.payload;
  auto& conn = ctx.db();
  auto project = store::get_project(conn, job.project_id.value_or(""));
  if (!project) throw jobs::PermanentError("project '" + job.project_id.value_or("") + "' no longer exists");
  auto settings = store::get_backup_settings(conn, project->id);

  auto created = deps.clock.now();
  auto format = string_field(payload, "format", "sql");
  auto compression = string_field(payload, "compression", "zstd");
  auto kind = string_field(payload, "kind", "manual");
  auto storage_path = string_field(payload, "storage_path", "");
  // LocalDestination re-checks the folder against the real filesystem: it may
  // have changed (a symlink planted) since the request was accepted.
  destinations::LocalDestination local(deps.config.storage_dir, storage_path.empty() ? project->id : storage_path);
  backup::DumpSource source{deps.config.pg_bin_dir, deps.config.database_url, "tenant_" + project->slug};
  backup::ExportOptions options;
  options.format = backup::parse_format(format);
  options.compression = backup::parse_compression(compression);
  options.timeout = deps.config.pg_dump_timeout;

  destinations::ObjectInfo info{project->id,
                                backup::file_name_for(project->slug, created, options.format, options.compression),
                                backup::content_type_for(options.format, options.compression)};
  auto started = std::chrono::steady_clock::now();
  auto result = backup::run_export(
      source, options, {&local}, info,
      [&](std::uint64_t dump_bytes) {
        ctx.report_progress(boost::json::object{{"dump_bytes", dump_bytes}});
      },
      ctx.cancel_flag());
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  store::Backup row;
  row.id = new_uuid();
  row.project_id = project->id;
  row.job_id = job.id;
  row.kind = kind;
  row.format = format;
  row.compression = compression;
  row.status = "completed";
  row.size_bytes = static_cast<std::int64_t>(result.size_bytes);
  row.sha256 = result.sha256_hex;
  row.locations = result.locations;
  row.created_at = created;
  row.expires_at = created + std::chrono::hours(24) * settings.retention_days;

  boost::json::object out{{"backup_id", row.id},
                          {"size_bytes", result.size_bytes},
                          {"dump_bytes", result.dump_bytes},
                          {"sha256", result.sha256_hex},
                          {"locations", result.locations},
                          {"file_name", info.file_name},
                          {"seconds", seconds}};
  jobs::JobOutcome outcome;
  outcome.result = out;
  outcome.in_completion_tx = [row](db::Connection& tx) { store::insert_backup(tx, row); };
  auto email = string_field(payload, "notify_email", "");
  auto file_name = info.file_name;
  auto size = result.size_bytes;
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
  try {
    return run_export_job(deps, ctx);
  } catch (const std::exception& e) {
    const auto& job = ctx.job();
    bool permanent = dynamic_cast<const jobs::PermanentError*>(&e) != nullptr;
    if (permanent || job.attempts >= job.max_attempts) {
      auto email = string_field(job.payload, "notify_email", "");
      const auto* err = dynamic_cast<const Error*>(&e);
      notify_by_email(deps, email, "Backup of " + job.project_id.value_or("") + " FAILED",
                      "The backup of project " + job.project_id.value_or("") + " failed after " + std::to_string(job.attempts) +
                          " attempt(s):\n\n" + (err ? err->message() : std::string("internal error")) + "\n");
    }
    throw;
  }
}

}  // namespace

std::map<std::string, jobs::Handler> job_handlers(const Dependencies& deps) {
  return {
      {"export", [&deps](jobs::JobContext& ctx) { return export_job_with_notice(deps, ctx); }},
      {"restore", [&deps](jobs::JobContext& ctx) { return run_restore_job(deps, ctx); }},
  };
}

}  // namespace tb::workflows
