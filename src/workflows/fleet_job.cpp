#include "workflows/fleet_job.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>

#include "core/clock.hpp"
#include "fleet/batch_dump.hpp"
#include "fleet/plan.hpp"
#include "metrics/registry.hpp"
#include "store/fleet.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "workflows/project_lock.hpp"

namespace tb::workflows {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// How often a waiting run looks at its tenants' jobs.
constexpr auto kPoll = std::chrono::seconds(1);
// A batch whose pg_dump finds this many locked tables in a row is given up:
// its tenants run their own exports.
constexpr int kMaxLockRetries = 5;

json::array to_json(const std::vector<fleet::Tenant>& tenants) {
  json::array out;
  for (const auto& t : tenants) out.push_back(json::array{t.project_id, t.schema});
  return out;
}

std::vector<fleet::Tenant> tenants_of(const json::value& v) {
  std::vector<fleet::Tenant> out;
  for (const auto& t : v.as_array()) {
    const auto& pair = t.as_array();
    out.push_back({std::string(pair.at(0).as_string()), std::string(pair.at(1).as_string()), 0});
  }
  return out;
}

// Step 1: which projects, in which batches. Projects whose schema is missing
// and tenants too big for a batch run alone (their export says why it fails).
json::object plan_run(const Dependencies& deps, jobs::JobContext& ctx,
                      const model::FleetExportPayload& payload) {
  auto& conn = ctx.db();
  std::vector<store::Project> projects;
  if (payload.projects.empty()) {
    projects = store::list_projects(conn);
  } else {
    for (const auto& id : payload.projects) {
      auto project = store::get_project(conn, id);
      if (project) {
        projects.push_back(*project);
      } else if (payload.kind == "scheduled") {
        // Deleted since the scheduler listed it: nothing left to back up.
        spdlog::info("fleet {}: project '{}' no longer exists", ctx.job().id, id);
      } else {
        throw_not_found("project '" + id + "' not found");
      }
    }
  }
  std::vector<std::string> schemas;
  schemas.reserve(projects.size());
  for (const auto& p : projects) schemas.push_back("tenant_" + p.slug);
  const auto locks = store::schema_lock_counts(conn, schemas);
  std::int64_t max_locks = deps.options.fleet.max_locks;
  if (max_locks <= 0) max_locks = std::max<std::int64_t>(1, store::lock_table_capacity(conn) / 2);

  std::vector<fleet::Tenant> tenants, alone;
  for (const auto& p : projects) {
    const auto schema = "tenant_" + p.slug;
    auto it = locks.find(schema);
    if (it == locks.end()) {
      alone.push_back({p.id, schema, 0});
    } else {
      tenants.push_back({p.id, schema, it->second});
    }
  }
  auto plan = fleet::plan_batches(tenants, deps.options.fleet.batch_tenants, max_locks);
  alone.insert(alone.end(), plan.alone.begin(), plan.alone.end());
  json::array batches;
  for (const auto& b : plan.batches) batches.push_back(to_json(b));
  spdlog::info("fleet {}: {} tenants in {} batches (at most {} tenants, {} locks each), {} alone",
               ctx.job().id, projects.size(), batches.size(), deps.options.fleet.batch_tenants,
               max_locks, alone.size());
  return json::object{{"tenants", projects.size()},
                      {"batches", std::move(batches)},
                      {"next_batch", 0},
                      {"alone", to_json(alone)},
                      {"max_locks", max_locks},
                      {"started_at_us", std::chrono::duration_cast<std::chrono::microseconds>(
                                            deps.clock.now().time_since_epoch())
                                            .count()}};
}

// One export job per tenant, in one transaction; idempotent per run and project.
void enqueue_tenants(jobs::JobContext& ctx, const model::FleetExportPayload& payload,
                     const std::vector<fleet::Tenant>& tenants, const std::string& batch_dir) {
  auto& conn = ctx.db();
  db::Transaction tx(conn);
  for (const auto& t : tenants) {
    auto export_payload =
        store::export_payload_of(store::get_backup_settings(conn, t.project_id), payload.kind);
    export_payload.slot = payload.slot;
    export_payload.fleet = model::FleetRef{ctx.job().id, batch_dir};
    auto job = store::new_job(export_payload, t.project_id, ctx.job().max_attempts);
    // A scheduled run's tenant has the key the scheduler gives the project's
    // own export for that slot: once per project and slot, whichever comes first.
    job.idempotency_key = payload.kind == "scheduled" && payload.slot
                              ? model::scheduled_export_key(t.project_id, *payload.slot)
                              : "fleet:" + ctx.job().id + ":" + t.project_id;
    store::enqueue_job(conn, job);
  }
  tx.commit();
}

// Step 2: the batch's pg_dump. A locked table's tenant leaves the batch for
// an export of its own; the rest is dumped again.
void dump_and_enqueue(const Dependencies& deps, jobs::JobContext& ctx,
                      const model::FleetExportPayload& payload, std::vector<fleet::Tenant> batch,
                      const std::string& dir) {
  const auto& o = deps.options;
  backup::DumpSource source{o.pg_bin_dir,
                            with_application_name(o.database_url, job_session_name(ctx.job())), ""};
  fleet::BatchOptions options;
  options.jobs = o.fleet.dump_jobs;
  options.timeout = o.pg_dump_timeout;
  options.lock_wait = o.fleet.lock_wait;
  for (int tries = 0; !batch.empty(); ++tries) {
    std::vector<std::string> schemas;
    schemas.reserve(batch.size());
    for (const auto& t : batch) schemas.push_back(t.schema);
    std::error_code ec;
    fs::remove_all(dir, ec);  // a dump an earlier attempt left half-written
    try {
      fleet::dump_batch(source, schemas, dir, options, ctx.cancel_flag());
      enqueue_tenants(ctx, payload, batch, dir);
      return;
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& e) {
      const auto locked = fleet::locked_schema(e.detail());
      auto it = std::find_if(batch.begin(), batch.end(),
                             [&](const fleet::Tenant& t) { return locked && t.schema == *locked; });
      if (it == batch.end() || tries >= kMaxLockRetries) {
        // Not a lock we can route around: every tenant of the batch runs
        // its own export, which fails or succeeds on its own.
        spdlog::warn("fleet {}: a batch of {} tenants could not be dumped ({}); each runs alone",
                     ctx.job().id, batch.size(), e.message());
        enqueue_tenants(ctx, payload, batch, "");
        return;
      }
      spdlog::info("fleet {}: {} holds a lock; it runs alone, the batch is dumped again",
                   ctx.job().id, it->schema);
      enqueue_tenants(ctx, payload, {*it}, "");
      batch.erase(it);
    }
  }
}

json::object counts_of(const std::vector<store::FleetTenantJob>& jobs) {
  std::int64_t completed = 0, failed = 0, cancelled = 0;
  json::array failures;
  for (const auto& j : jobs) {
    if (j.status == store::JobStatus::kCompleted) ++completed;
    if (j.status == store::JobStatus::kCancelled) ++cancelled;
    if (j.status == store::JobStatus::kFailed) {
      ++failed;
      failures.push_back(json::object{{"project_id", j.project_id},
                                      {"job_id", j.job_id},
                                      {"error", j.last_error.value_or("")}});
    }
  }
  return json::object{{"tenants_completed", completed},
                      {"tenants_failed", failed},
                      {"tenants_cancelled", cancelled},
                      {"failures", std::move(failures)}};
}

void record_metrics(const Dependencies& deps, const json::object& result) {
  if (!deps.metrics) return;
  auto& m = *deps.metrics;
  m.set_gauge("tb_fleet_last_run_seconds", "how long the last fleet run took", {},
              result.at("seconds").to_number<double>());
  m.set_gauge("tb_fleet_last_run_tenants_per_second",
              "tenants backed up per second by the last fleet run", {},
              result.at("tenants_per_second").to_number<double>());
  m.counter("tb_fleet_runs_total", "fleet runs that ended").inc();
  m.counter("tb_fleet_tenant_failures_total", "tenants whose backup failed in a fleet run")
      .inc(result.at("tenants_failed").to_number<double>());
}

// One step of the run (see fleet_job.hpp): its state is the job's progress.
jobs::JobOutcome run_fleet_step(const Dependencies& deps, jobs::JobContext& ctx,
                                const std::string& dir) {
  const auto payload = jobs::payload_of<model::FleetExportPayload>(ctx);
  const auto& run = ctx.job().id;
  auto& conn = ctx.db();

  json::object state =
      ctx.job().progress.is_object() ? ctx.job().progress.as_object() : json::object{};
  if (!state.contains("batches")) {
    state = plan_run(deps, ctx, payload);
    enqueue_tenants(ctx, payload, tenants_of(state.at("alone")), "");
  }
  auto tenant_jobs = store::fleet_tenant_jobs(conn, run);
  auto counts = counts_of(tenant_jobs);
  for (auto& [k, v] : counts) {
    if (k != "failures") state[k] = v;
  }
  const auto& batches = state.at("batches").as_array();
  const auto next = static_cast<std::size_t>(state.at("next_batch").to_number<std::int64_t>());
  auto running = [&](const std::string& batch_dir) {
    return std::any_of(tenant_jobs.begin(), tenant_jobs.end(), [&](const auto& j) {
      return !store::is_terminal(j.status) && (batch_dir.empty() || j.batch_dir == batch_dir);
    });
  };
  // Step 3: a batch's dump is kept until its tenants ended (a tenant that
  // runs alone is not waited for here: it reads nothing of the run's).
  if (auto* current = state.if_contains("current_dir")) {
    const std::string current_dir(current->as_string());
    if (running(current_dir)) return {state, {}, {}, {}, kPoll};
    std::error_code ec;
    fs::remove_all(current_dir, ec);
    state.erase("current_dir");
  }
  if (next < batches.size()) {
    fs::create_directories(dir);
    const auto batch_dir = dir + "/batch-" + std::to_string(next);
    dump_and_enqueue(deps, ctx, payload, tenants_of(batches[next]), batch_dir);
    state["current_dir"] = batch_dir;
    state["next_batch"] = next + 1;
    return {state, {}, {}, {}, kPoll};
  }
  if (running("")) return {state, {}, {}, {}, kPoll};
  std::error_code ec;
  fs::remove_all(dir, ec);

  // Step 4: every tenant ended.
  const SystemTime started{
      std::chrono::microseconds(state.at("started_at_us").to_number<std::int64_t>())};
  const double seconds =
      std::max(0.001, std::chrono::duration<double>(deps.clock.now() - started).count());
  json::object result = counts;
  result["tenants"] = state.at("tenants");
  result["batches"] = batches.size();
  result["seconds"] = seconds;
  result["tenants_per_second"] = static_cast<double>(tenant_jobs.size()) / seconds;
  record_metrics(deps, result);
  spdlog::info("fleet {}: {} tenants in {:.1f} s, {} failed", run, tenant_jobs.size(), seconds,
               result.at("tenants_failed").to_number<std::int64_t>());
  jobs::JobOutcome outcome;
  outcome.result = std::move(result);
  return outcome;
}

}  // namespace

std::string fleet_dir(const Options& options, const std::string& run) {
  return options.storage_dir + "/.fleet/" + run;
}

jobs::JobOutcome run_fleet_job(const Dependencies& deps, jobs::JobContext& ctx) {
  const auto& run = ctx.job().id;
  const auto dir = fleet_dir(deps.options, run);
  // A cancel seen at a step's start, or one that stopped a batch's pg_dump:
  // the tenants that did not end are cancelled, the dumps removed.
  auto stop = [&] {
    store::cancel_fleet_tenant_jobs(ctx.db(), run);
    std::error_code ec;
    fs::remove_all(dir, ec);
    return Cancelled("the fleet run was cancelled");
  };
  if (ctx.cancel_requested()) throw stop();
  try {
    return run_fleet_step(deps, ctx, dir);
  } catch (const Cancelled&) {
    throw stop();
  }
}

}  // namespace tb::workflows
