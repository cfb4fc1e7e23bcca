#include "app/jobs_command.hpp"

#include <boost/json.hpp>
#include <iostream>
#include <thread>

#include "core/error.hpp"
#include "db/connection.hpp"
#include "model/jobs.hpp"
#include "model/requests.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "workflows/export_destinations.hpp"
#include "workflows/restore_job.hpp"
#include "workflows/verify_job.hpp"

namespace tb::app {
namespace {

// A fleet run's progress, when it changed: "120 of 200 tenants done, 2 failed".
void print_fleet_progress(const store::Job& job, std::string& last) {
  if (job.type != model::to_string(model::JobType::kFleetExport) || !job.progress.is_object())
    return;
  const auto& p = job.progress.as_object();
  auto number = [&](std::string_view key) {
    const auto* v = p.if_contains(key);
    return v ? v->to_number<std::int64_t>() : std::int64_t{0};
  };
  if (!p.contains("tenants")) return;
  const auto line = std::to_string(number("tenants_completed") + number("tenants_failed")) +
                    " of " + std::to_string(number("tenants")) + " tenants done, " +
                    std::to_string(number("tenants_failed")) + " failed";
  if (line == last) return;
  std::cerr << "fleet " << job.id << ": " << line << "\n";
  last = line;
}

// Follows a job until it ends; prints its final JSON. Exit 0 only when
// completed (a fleet run: and every tenant's backup completed).
int follow(db::Connection& conn, const std::string& job_id) {
  std::string last_status, last_progress;
  for (;;) {
    auto job = store::get_job(conn, job_id);
    if (!job) throw Error(ErrorCode::kNotFound, "job " + job_id + " disappeared");
    std::string status(store::to_string(job->status));
    if (status != last_status) {
      std::cerr << "job " << job_id << ": " << status << "\n";
      last_status = status;
    }
    print_fleet_progress(*job, last_progress);
    if (store::is_terminal(job->status)) {
      std::cout << boost::json::serialize(store::to_json(*job)) << "\n";
      if (job->status != store::JobStatus::kCompleted) return 1;
      const auto* failed =
          job->result.is_object() ? job->result.as_object().if_contains("tenants_failed") : nullptr;
      const auto* cancelled = job->result.is_object()
                                  ? job->result.as_object().if_contains("tenants_cancelled")
                                  : nullptr;
      const bool all_tenants = (!failed || failed->to_number<std::int64_t>() == 0) &&
                               (!cancelled || cancelled->to_number<std::int64_t>() == 0);
      return all_tenants ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

int run_fleet_command(const config::Config& config, const ExportCommandOptions& options) {
  auto conn = db::Connection::open(config.database_url);
  model::FleetExportPayload payload;
  for (const auto& id : options.projects) {
    if (!store::get_project(conn, id))
      throw Error(ErrorCode::kNotFound, "project '" + id + "' not found");
    payload.projects.push_back(id);
  }
  auto created =
      store::enqueue_job(conn, store::new_job(payload, std::nullopt, config.job_max_attempts));
  std::cerr << "queued fleet run " << created.id << " (a serve or worker process runs it)\n";
  if (options.no_wait) {
    std::cout << created.id << "\n";
    return 0;
  }
  return follow(conn, created.id);
}

}  // namespace

int run_export_command(const config::Config& config, const ExportCommandOptions& options) {
  if (options.all || !options.projects.empty()) return run_fleet_command(config, options);
  boost::json::object body{{"project_id", options.project_id}, {"format", options.format}};
  if (options.compression == "none") {
    body["compress"] = false;
  } else {
    body["compression"] = options.compression;
  }
  if (!options.compression_level.empty()) {
    const auto fixed = model::fixed_level(options.compression_level);
    body["compression_level"] =
        fixed ? boost::json::value(*fixed) : boost::json::value(options.compression_level);
  }
  if (!options.destinations.empty()) {
    body["destinations"] = boost::json::value_from(options.destinations);
  }
  // The API's parser and checks: the same names, limits and messages.
  auto request = model::parse_export_request(boost::json::serialize(body));
  auto conn = db::Connection::open(config.database_url);
  auto project = store::get_project(conn, request.project_id);
  if (!project) throw Error(ErrorCode::kNotFound, "project '" + request.project_id + "' not found");
  auto settings = store::get_backup_settings(conn, project->id);
  model::ExportPayload payload;
  payload.format = request.format;
  payload.compression = request.compression;
  payload.compression_level =
      model::level_for_export(request.compression_level, request.compression, settings.compression,
                              settings.compression_level);
  payload.destinations = workflows::export_destinations(
      request.destinations, settings, {!config.telegram_bot_token.empty(), config.s3_configured()});
  payload.notify_email = settings.notify_email;
  if (payload.wants_telegram()) payload.telegram_chat_id = settings.telegram_chat_id;
  auto created =
      store::enqueue_job(conn, store::new_job(payload, project->id, config.job_max_attempts));
  std::cerr << "queued export job " << created.id << " (a serve or worker process runs it)\n";
  if (options.no_wait) {
    std::cout << created.id << "\n";
    return 0;
  }
  return follow(conn, created.id);
}

int run_restore_command(const config::Config& config, const RestoreCommandOptions& options) {
  auto request = model::parse_restore_request(
      boost::json::serialize(boost::json::object{{"backup_id", options.backup_id}}));
  auto conn = db::Connection::open(config.database_url);
  auto backup = store::get_backup(conn, request.backup_id);
  if (!backup) throw Error(ErrorCode::kNotFound, "backup " + request.backup_id + " not found");
  // The same checks as the API: restorable, one restore per project at a time.
  auto created = workflows::enqueue_restore(conn, *backup, std::chrono::system_clock::now(), "cli");
  std::cerr << "queued restore job " << created.id << "\n";
  if (options.no_wait) {
    std::cout << created.id << "\n";
    return 0;
  }
  return follow(conn, created.id);
}

int run_verify_command(const config::Config& config, const VerifyCommandOptions& options) {
  if (options.backup_id.empty() == options.project_id.empty())
    throw Error(ErrorCode::kValidation, "give either --backup ID or --project P");
  if (config.verify_database_url.empty())
    throw Error(ErrorCode::kConflict, std::string(workflows::kVerifyNotConfigured));
  auto conn = db::Connection::open(config.database_url);
  std::optional<store::Backup> backup;
  if (!options.backup_id.empty()) {
    auto request = model::parse_restore_request(
        boost::json::serialize(boost::json::object{{"backup_id", options.backup_id}}));
    backup = store::get_backup(conn, request.backup_id);
    if (!backup) throw Error(ErrorCode::kNotFound, "backup " + request.backup_id + " not found");
  } else {
    if (!store::get_project(conn, options.project_id))
      throw Error(ErrorCode::kNotFound, "project '" + options.project_id + "' not found");
    backup = store::newest_completed_backup(conn, options.project_id);
    if (!backup)
      throw Error(ErrorCode::kNotFound,
                  "project '" + options.project_id + "' has no completed backup to verify");
  }
  model::VerifyPayload payload;
  payload.backup_id = backup->id;
  auto created = workflows::enqueue_verify(conn, *backup, std::chrono::system_clock::now(), payload,
                                           config.job_max_attempts);
  std::cerr << "queued verify job " << created.id << " for backup " << backup->id
            << " (a serve or worker process runs it)\n";
  if (options.no_wait) {
    std::cout << created.id << "\n";
    return 0;
  }
  return follow(conn, created.id);
}

}  // namespace tb::app
