#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/jobs_command.hpp"
#include "app/serve.hpp"
#include "app/token_command.hpp"
#include "config/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tb::app {
namespace {

// Loads the environment configuration; prints the error naming the variable.
std::optional<config::Config> load_config(bool require_auth) {
  try {
    auto cfg = config::load(config::environment_lookup(), require_auth);
    log::init(cfg.log_format == config::LogFormat::kJson ? log::Format::kJson : log::Format::kText,
              cfg.log_level);
    if (!cfg.jwt_secret.empty()) log::register_secret(cfg.jwt_secret);
    if (!cfg.telegram_bot_token.empty()) log::register_secret(cfg.telegram_bot_token);
    for (const auto* secret : {&cfg.aws_secret_access_key, &cfg.aws_session_token}) {
      if (!secret->empty()) log::register_secret(*secret);
    }
    return cfg;
  } catch (const config::ConfigError& e) {
    std::cerr << "tenant-backup: " << e.what() << "\n";
    return std::nullopt;
  }
}

// A command's last word. With LOG_FORMAT=json it is a log line like every
// other one, so a collector never meets a line it cannot read.
void report_failure(const std::string& text) {
  if (log::format() == log::Format::kJson) {
    log::event(log::Level::kError, "tenant-backup: " + text, {});
  } else {
    std::cerr << "tenant-backup: " << text << "\n";
  }
}

bool require_database(const config::Config& cfg) {
  if (cfg.database_url.empty()) {
    report_failure("DATABASE_URL is not set (make run starts an embedded cluster for you)");
    return false;
  }
  return true;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "tenant-backup: backups of the tenant schemas of a multi-tenant PostgreSQL platform"};
  app.footer("\n" + config::variables_text());
  app.require_subcommand(1);

  ServeOptions serve_opts;
  auto* serve_cmd =
      app.add_subcommand("serve", "run the HTTP API, job workers and scheduler in one process");
  serve_cmd->add_flag("!--no-api", serve_opts.api, "do not start the HTTP API");
  serve_cmd->add_flag("!--no-worker", serve_opts.worker, "do not run jobs in this process");
  serve_cmd->add_flag("!--no-scheduler", serve_opts.scheduler,
                      "do not run the scheduler and retention sweep");

  auto* worker_cmd = app.add_subcommand("worker", "run job workers only (no HTTP API)");
  auto* migrate_cmd =
      app.add_subcommand("migrate", "create or upgrade the control_plane tables (idempotent)");

  TokenOptions token_opts;
  auto* token_cmd =
      app.add_subcommand("token", "mint an HS256 JWT for a project (development, scripts)");
  token_cmd->add_option("--project", token_opts.projects,
                        "project id the token may act on (repeatable)");
  token_cmd->add_option("--role", token_opts.role, "role claim; 'admin' may act on every project");
  token_cmd->add_option("--sub", token_opts.subject, "subject (who the audit log names)")
      ->capture_default_str();
  token_cmd->add_option("--ttl", token_opts.ttl, "lifetime: 90s, 30m, 24h, 7d")
      ->capture_default_str();

  ExportCommandOptions export_opts;
  auto* export_cmd = app.add_subcommand(
      "export",
      "export a project's schema, or many projects' in one fleet run (queues a job and waits "
      "for it)");
  auto* one = export_cmd->add_option("--project", export_opts.project_id, "project id");
  auto* all = export_cmd->add_flag(
      "--all", export_opts.all,
      "a fleet run of every project: schemas dumped in batches, each project backed up "
      "with its own settings");
  auto* some = export_cmd
                   ->add_option("--projects", export_opts.projects,
                                "a fleet run of these projects (comma-separated ids)")
                   ->delimiter(',');
  one->excludes(all)->excludes(some);
  all->excludes(some);
  auto* format =
      export_cmd->add_option("--format", export_opts.format, "sql or tar")->capture_default_str();
  auto* compression =
      export_cmd->add_option("--compression", export_opts.compression, "zstd, gzip or none")
          ->capture_default_str();
  auto* destination = export_cmd->add_option(
      "--destination", export_opts.destinations,
      "local, telegram or s3; repeat for several (default: the project's saved destinations)");
  auto* level = export_cmd->add_option(
      "--compression-level", export_opts.compression_level,
      "adaptive or a fixed level (zstd 1-19, gzip 1-12); default: the project's setting");
  // A fleet run backs each project up as its settings say.
  for (auto* option : {format, compression, level, destination})
    option->excludes(all)->excludes(some);
  export_cmd->add_flag("--no-wait", export_opts.no_wait, "print the job id and return at once");
  export_cmd->callback([one, all, some] {
    if (one->count() + all->count() + some->count() == 0)
      throw CLI::RequiredError("--project, --all or --projects");
  });

  RestoreCommandOptions restore_opts;
  auto* restore_cmd =
      app.add_subcommand("restore", "restore a backup into its project's schema (queues a job)");
  restore_cmd->add_option("--backup", restore_opts.backup_id, "backup id")->required();
  restore_cmd->add_flag("--no-wait", restore_opts.no_wait, "print the job id and return at once");

  VerifyCommandOptions verify_opts;
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "test-restore a backup into a throwaway scratch database and compare every table's rows "
      "with its manifest (queues a job)");
  auto* by_backup = verify_cmd->add_option("--backup", verify_opts.backup_id, "backup id");
  auto* by_project = verify_cmd->add_option("--project", verify_opts.project_id,
                                            "project id: its newest completed backup");
  by_backup->excludes(by_project);
  verify_cmd->add_flag("--no-wait", verify_opts.no_wait, "print the job id and return at once");

  CLI11_PARSE(app, argc, argv);

  try {
    if (token_cmd->parsed()) {
      auto cfg = load_config(false);
      if (!cfg) return 2;
      std::cout << mint_token(*cfg, token_opts) << "\n";
      return 0;
    }
    bool needs_auth = serve_cmd->parsed() && serve_opts.api;
    auto cfg = load_config(needs_auth);
    if (!cfg || !require_database(*cfg)) return 2;
    if (migrate_cmd->parsed()) return migrate(*cfg);
    if (serve_cmd->parsed()) return serve(*cfg, serve_opts);
    if (worker_cmd->parsed())
      return serve(*cfg, ServeOptions{.api = false, .worker = true, .scheduler = false});
    if (export_cmd->parsed()) return run_export_command(*cfg, export_opts);
    if (restore_cmd->parsed()) return run_restore_command(*cfg, restore_opts);
    if (verify_cmd->parsed()) return run_verify_command(*cfg, verify_opts);
  } catch (const Error& e) {
    report_failure(e.message() + (e.detail().empty() ? "" : " (" + log::redact(e.detail()) + ")"));
    return 1;
  } catch (const std::exception& e) {
    report_failure(log::redact(e.what()));
    return 1;
  }
  return 0;
}

}  // namespace tb::app
