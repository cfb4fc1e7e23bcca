#include "app/serve.hpp"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "age/keys.hpp"
#include "api/context.hpp"
#include "api/routes.hpp"
#include "app/workflow_options.hpp"
#include "auth/jwt.hpp"
#include "auth/signed_link.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "db/migrate.hpp"
#include "db/pool.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "jobs/worker.hpp"
#include "metrics/registry.hpp"
#include "schedule/lifecycle_metrics.hpp"
#include "schedule/scheduler.hpp"
#include "workflows/handlers.hpp"
#include "workflows/retention.hpp"
#include "workflows/s3_copies.hpp"
#include "workflows/telegram.hpp"
#include "workflows/telegram_jobs.hpp"
#include "workflows/verify_job.hpp"

namespace tb::app {
namespace {

// Blocks SIGINT/SIGTERM in every thread started after this call; wait_for_signal()
// then receives them synchronously (no async-signal-safety puzzles).
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_for_signal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// Large buffers (S3 parts, compressor windows) come from mmap and go back to
// the system when freed. glibc's default raises the mmap threshold after the
// first large free, so later buffers come from the per-thread arenas, which
// keep freed memory: every export's worker and part threads then left tens of
// MB behind and the service's footprint grew export after export.
void return_large_buffers_to_the_system() {
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
}

}  // namespace

int migrate(const config::Config& config) {
  auto conn = db::Connection::open(config.database_url);
  db::migrate(conn);
  std::cout << "migrations applied\n";
  return 0;
}

int serve(const config::Config& config, const ServeOptions& options) {
  return_large_buffers_to_the_system();
  auto signals = block_shutdown_signals();
  for (const auto* secret : {&config.metrics_token, &config.download_link_secret}) {
    if (!secret->empty()) log::register_secret(*secret);
  }
  // Also registered by the CLI's configuration loader; here for callers of serve() alone.
  for (const auto* secret : {&config.aws_secret_access_key, &config.aws_session_token}) {
    if (!secret->empty()) log::register_secret(*secret);
  }
  std::filesystem::create_directories(config.storage_dir);
  {
    // Every process migrates on start (idempotent, serialized by a lock on
    // the migrations table), so a fresh database works with `serve` alone.
    auto conn = db::Connection::open(config.database_url);
    db::migrate(conn);
  }

  metrics::Registry registry;
  db::Pool pool(config.database_url, config.db_pool_size);

  std::unique_ptr<jobs::Worker> worker;
  const auto workflow_opts = workflow_options(config);
  // A secret key never reaches a log line, whatever text carries it.
  for (const auto& id : workflow_opts.age_identities) log::register_secret(age::to_string(id));
  if (!workflow_opts.age_identities.empty()) {
    // The public key is what tenants and operators check a backup against.
    spdlog::info("age: new encrypted backups go to {} (the first of {} identities in {})",
                 age::to_string(age::recipient_of(workflow_opts.age_identities.front())),
                 workflow_opts.age_identities.size(), config.age_identity_file);
  } else {
    spdlog::info("age: no AGE_IDENTITY_FILE: projects cannot turn encryption on");
  }
  workflows::Dependencies deps{
      workflow_opts, RealClock::instance(),
      &registry.counter(
          "tb_project_lock_wait_timeouts_total",
          "exports and restores that gave up waiting for the same project's running one"),
      &registry,
      &registry.counter("tb_verification_failures_total",
                        "verifications of backups that failed (the backup did not restore, or "
                        "its tables disagree with its manifest)")};
  if (options.worker) {
    jobs::WorkerOptions wopts;
    wopts.conninfo = config.database_url;
    wopts.concurrency = config.worker_concurrency;
    wopts.lease = config.job_lease;
    wopts.stop_timeout = config.shutdown_grace;
    wopts.on_lost_for_good = [&deps](const store::Job& job) {
      workflows::job_lost_for_good(deps, job);
    };
    // Scratch databases left by verifications whose process died.
    try {
      auto conn = db::Connection::open(config.database_url);
      workflows::sweep_verify_leftovers(workflow_opts, conn);
    } catch (const std::exception& e) {
      spdlog::warn("verify: the sweep of left-over scratch databases failed: {}", e.what());
    }
    worker = std::make_unique<jobs::Worker>(wopts, workflows::job_handlers(deps));
    worker->start();
  }

  // Scheduler and retention sweep (--no-scheduler turns both off). Several
  // processes may run them: one leads the scheduling (a control-plane row
  // lock), and every sweep step is guarded so concurrent sweeps do each thing once.
  std::unique_ptr<schedule::Scheduler> scheduler;
  std::unique_ptr<workflows::RetentionSweeper> sweeper;
  std::vector<std::unique_ptr<schedule::PeriodicTask>> loops;
  if (options.scheduler) {
    schedule::SchedulerOptions sched;
    sched.conninfo = config.database_url;
    sched.tick = config.scheduler_tick;
    sched.jitter_window = config.schedule_jitter;
    sched.fleet_min_projects = config.schedule_fleet_min_projects;
    sched.max_attempts = config.job_max_attempts;
    scheduler = std::make_unique<schedule::Scheduler>(sched);
    workflows::RetentionOptions ret;
    ret.storage_dir = config.storage_dir;
    ret.smtp_url = config.smtp_url;
    ret.smtp_from = config.smtp_from;
    ret.public_url = config.public_url;
    ret.expiry_notice = std::chrono::hours(24) * config.expiry_notice_days;
    ret.restore_keep = std::chrono::hours(24) * config.restore_keep_days;
    // Telegram messages of expired backups, where the Bot API still allows
    // it: a job does it, so the sweep never waits for Telegram.
    // The S3 object and its sidecar go at once; a refusal is recorded
    // ("remote_remains") and retried by the next sweeps.
    ret.delete_remote_copies = [&config, &s3 = workflow_opts.s3](db::Connection& c,
                                                                 const store::Backup& b) {
      workflows::remove_telegram_cache(config.storage_dir, b.id);
      workflows::enqueue_telegram_delete(c, b, config.job_max_attempts);
      if (workflows::live_s3_key(b.locations))
        store::update_backup_locations(c, b.id, workflows::delete_s3_copies(s3, b.locations));
    };
    ret.sweep_remote = [&s3 = workflow_opts.s3](db::Connection& c, SystemTime now) {
      if (int n = workflows::retry_s3_remains(c, s3))
        spdlog::info("retention: {} S3 object(s) deleted on a retry", n);
      workflows::abort_stale_s3_uploads(s3, now);
    };
    sweeper = std::make_unique<workflows::RetentionSweeper>(config.database_url, ret);
    loops.push_back(std::make_unique<schedule::PeriodicTask>(
        "scheduler", config.scheduler_tick,
        [&s = *scheduler] { s.tick(RealClock::instance().now()); }));
    loops.push_back(std::make_unique<schedule::PeriodicTask>(
        "retention", config.retention_sweep,
        [&r = *sweeper] { r.run_once(RealClock::instance().now()); }));
    for (auto& loop : loops) loop->start();
  }
  schedule::register_lifecycle_metrics(registry, pool, RealClock::instance());

  std::unique_ptr<auth::JwtVerifier> verifier;
  std::unique_ptr<api::ApiContext> api_ctx;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<http::Server> metrics_server;
  if (options.api) {
    verifier = std::make_unique<auth::JwtVerifier>(auth::JwtVerifier::from_config(config));
    api_ctx = std::make_unique<api::ApiContext>(api::ApiContext{
        config, pool, *verifier, RealClock::instance(), registry, auth::download_link_key(config),
        workflow_opts.s3, !workflow_opts.age_identities.empty()});
    http::ServerOptions sopts;
    sopts.host = config.listen_host;
    sopts.port = config.listen_port;
    sopts.io_threads = config.http_threads;
    sopts.handler_threads = config.db_pool_size;
    sopts.read_limit_per_minute = config.read_rate_limit_per_minute;
    sopts.work_limit_per_minute = config.rate_limit_per_minute;
    sopts.trusted_proxies = config.trusted_proxies;
    server =
        std::make_unique<http::Server>(sopts, http::Router(api::build_routes(*api_ctx)), registry);
    server->start();
    spdlog::info("listening on http://{}:{}", config.listen_host, server->port());
    // A machine-readable line for scripts and tests that start us on port 0.
    std::cout << "LISTENING " << config.listen_host << ":" << server->port() << std::endl;
    if (config.metrics_port) {
      // The scrapers' own listener: /metrics and nothing else.
      http::ServerOptions mopts = sopts;
      mopts.host = config.metrics_host;
      mopts.port = *config.metrics_port;
      mopts.io_threads = 1;
      mopts.handler_threads = 1;
      metrics_server = std::make_unique<http::Server>(
          mopts, http::Router(api::metrics_routes(*api_ctx)), registry);
      metrics_server->start();
      spdlog::info("serving /metrics on http://{}:{}", config.metrics_host, metrics_server->port());
      std::cout << "METRICS_LISTEN " << config.metrics_host << ":" << metrics_server->port()
                << std::endl;
    }
  }

  int sig = wait_for_signal(signals);
  spdlog::info("signal {} received: shutting down", sig);
  if (server) server->stop();
  if (metrics_server) metrics_server->stop();
  for (auto& loop : loops) loop->stop();
  if (scheduler) scheduler->resign();
  if (worker) worker->stop();
  if (server) server->wait();
  if (metrics_server) metrics_server->wait();
  spdlog::info("stopped");
  return 0;
}

}  // namespace tb::app
