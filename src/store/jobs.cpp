#include "store/jobs.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

#include "core/ids.hpp"

namespace tb::store {
namespace {

constexpr const char* kColumns =
    "id, type, project_id, payload, status, attempts, max_attempts, run_at, locked_by, "
    "locked_until, progress, result, last_error, errors, cancel_requested, idempotency_key, "
    "created_at, started_at, completed_at";

// The guard of every change to a running job (see jobs.hpp).
constexpr const char* kGuard =
    "id = $1::uuid AND locked_by = $2 AND attempts = $3 AND status = 'running'";

Job job_from(const db::Result& r, int row) {
  Job j;
  j.id = r.text(row, 0);
  j.type = r.text(row, 1);
  j.project_id = r.opt(row, 2);
  auto payload = r.json(row, 3);
  if (payload.is_object()) j.payload = std::move(payload.as_object());
  j.status = parse_job_status(r.get(row, 4));
  j.attempts = static_cast<int>(r.int64(row, 5));
  j.max_attempts = static_cast<int>(r.int64(row, 6));
  j.run_at = r.time(row, 7);
  j.locked_by = r.opt(row, 8);
  j.locked_until = r.opt_time(row, 9);
  j.progress = r.json(row, 10);
  j.result = r.json(row, 11);
  j.last_error = r.opt(row, 12);
  auto errors = r.json(row, 13);
  if (errors.is_array()) j.errors = std::move(errors.as_array());
  j.cancel_requested = r.boolean(row, 14);
  j.idempotency_key = r.opt(row, 15);
  j.created_at = r.time(row, 16);
  j.started_at = r.opt_time(row, 17);
  j.completed_at = r.opt_time(row, 18);
  return j;
}

std::optional<Job> first_job(const db::Result& r) {
  if (r.empty()) return std::nullopt;
  return job_from(r, 0);
}

boost::json::value time_or_null(const std::optional<SystemTime>& t) {
  if (!t) return nullptr;
  return boost::json::string(format_rfc3339(*t));
}

std::int64_t ms(std::chrono::milliseconds d) {
  return d.count();
}

}  // namespace

std::string_view to_string(JobStatus s) {
  switch (s) {
    case JobStatus::kPending:
      return "pending";
    case JobStatus::kRunning:
      return "running";
    case JobStatus::kCompleted:
      return "completed";
    case JobStatus::kFailed:
      return "failed";
    case JobStatus::kCancelled:
      return "cancelled";
  }
  return "pending";
}

JobStatus parse_job_status(std::string_view s) {
  if (s == "pending") return JobStatus::kPending;
  if (s == "running") return JobStatus::kRunning;
  if (s == "completed") return JobStatus::kCompleted;
  if (s == "failed") return JobStatus::kFailed;
  if (s == "cancelled") return JobStatus::kCancelled;
  throw_internal("unknown job status \"" + std::string(s) + "\"");
}

namespace {

// What a job's progress shows. A fleet run's progress is its working state:
// the plan of every batch (at 10,000 tenants a quarter of a megabyte, which
// every poll would carry) and the path of its dump on this server. Shown:
// the counts, and how many batches there are and are done.
boost::json::value shown_progress(const Job& job) {
  if (job.type != model::to_string(model::JobType::kFleetExport) || !job.progress.is_object())
    return job.progress;
  auto shown = job.progress.as_object();
  for (const char* plan : {"batches", "alone"}) {
    if (auto* v = shown.if_contains(plan); v && v->is_array()) *v = v->as_array().size();
  }
  shown.erase("current_dir");
  shown.erase("started_at_us");
  return shown;
}

}  // namespace

boost::json::object to_json(const Job& job) {
  boost::json::object o;
  o["id"] = job.id;
  o["type"] = job.type;
  o["project_id"] = job.project_id ? boost::json::value(*job.project_id) : nullptr;
  o["status"] = to_string(job.status);
  o["attempts"] = job.attempts;
  o["max_attempts"] = job.max_attempts;
  o["progress"] = shown_progress(job);
  o["result"] = job.result;
  o["last_error"] = job.last_error ? boost::json::value(*job.last_error) : nullptr;
  o["errors"] = job.errors;
  o["cancel_requested"] = job.cancel_requested;
  o["run_at"] = format_rfc3339(job.run_at);
  o["created_at"] = format_rfc3339(job.created_at);
  o["started_at"] = time_or_null(job.started_at);
  o["completed_at"] = time_or_null(job.completed_at);
  return o;
}

std::chrono::milliseconds retry_delay(const RetryPolicy& policy, int attempt, double unit_random) {
  double base = static_cast<double>(policy.base.count());
  double exp = std::ldexp(base, std::clamp(attempt - 1, 0, 30));
  double capped = std::min(exp, static_cast<double>(policy.cap.count()));
  double u = std::clamp(unit_random, 0.0, 1.0);
  double factor = 1.0 - policy.jitter + 2.0 * policy.jitter * u;
  return std::chrono::milliseconds(static_cast<std::int64_t>(capped * factor));
}

JitterSource default_jitter() {
  return [] {
    static std::mutex m;
    static std::mt19937_64 rng{std::random_device{}()};
    std::lock_guard lock(m);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  };
}

Job enqueue_job(db::Connection& conn, const NewJob& job) {
  auto r = conn.query(
      std::string("INSERT INTO control_plane.jobs "
                  "(id, type, project_id, payload, max_attempts, run_at, idempotency_key) "
                  "VALUES ($1, $2, $3, $4::jsonb, $5, coalesce($6::timestamptz, now()), $7) "
                  "ON CONFLICT (idempotency_key) DO NOTHING RETURNING ") +
          kColumns,
      new_uuid(), job.type, job.project_id, job.payload, job.max_attempts, job.run_at,
      job.idempotency_key);
  if (!r.empty()) return job_from(r, 0);
  // The key exists (ON CONFLICT waited for any concurrent inserter to commit).
  auto existing = conn.query(
      std::string("SELECT ") + kColumns + " FROM control_plane.jobs WHERE idempotency_key = $1",
      job.idempotency_key);
  if (existing.empty()) throw_internal("idempotent enqueue found no job for its key");
  return job_from(existing, 0);
}

std::optional<Job> get_job(db::Connection& conn, const std::string& id) {
  if (!is_uuid(id)) return std::nullopt;
  return first_job(conn.query(
      std::string("SELECT ") + kColumns + " FROM control_plane.jobs WHERE id = $1::uuid", id));
}

std::vector<Job> list_jobs(db::Connection& conn, const std::string& project_id, int limit) {
  auto r = conn.query(std::string("SELECT ") + kColumns +
                          " FROM control_plane.jobs WHERE project_id = $1 "
                          "ORDER BY created_at DESC, id DESC LIMIT $2",
                      project_id, limit);
  return r.map_rows(job_from);
}

std::optional<Job> claim_job(db::Connection& conn, const std::string& worker_id,
                             std::chrono::milliseconds lease,
                             const std::vector<std::string>& types) {
  // The UPDATE ... FOR UPDATE SKIP LOCKED lives in migration 3's function
  // (its planner settings keep the claim on the claim-order index).
  return first_job(conn.query(std::string("SELECT ") + kColumns +
                                  " FROM control_plane.claim_next_job($1, $2::bigint, $3::text[])",
                              worker_id, ms(lease), db::text_array(types)));
}

RenewResult renew_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                      int attempt, std::chrono::milliseconds lease) {
  auto r =
      conn.query(std::string("UPDATE control_plane.jobs "
                             "SET locked_until = now() + $4::bigint * interval '1 millisecond' "
                             "WHERE ") +
                     kGuard + " RETURNING cancel_requested",
                 id, worker_id, attempt, ms(lease));
  if (r.empty()) return {};
  return {true, r.boolean(0, 0)};
}

bool update_job_progress(db::Connection& conn, const std::string& id, const std::string& worker_id,
                         int attempt, const boost::json::value& progress) {
  return conn.query(
                 std::string("UPDATE control_plane.jobs SET progress = $4::jsonb WHERE ") + kGuard,
                 id, worker_id, attempt, progress)
             .affected() == 1;
}

bool complete_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                  int attempt, const boost::json::value& result) {
  return conn.query(std::string("UPDATE control_plane.jobs SET status = 'completed', "
                                "result = $4::jsonb, locked_until = NULL, completed_at = now() "
                                "WHERE ") +
                        kGuard,
                    id, worker_id, attempt, result)
             .affected() == 1;
}

std::optional<JobStatus> complete_job_unless_cancelled(db::Connection& conn, const std::string& id,
                                                       const std::string& worker_id, int attempt,
                                                       const boost::json::value& result) {
  auto r = conn.query(
      std::string("UPDATE control_plane.jobs SET "
                  "  status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'completed' END, "
                  "  result = CASE WHEN cancel_requested THEN result ELSE $4::jsonb END, "
                  "  last_error = CASE WHEN cancel_requested THEN 'cancelled' ELSE last_error END, "
                  "  locked_until = NULL, completed_at = now() "
                  "WHERE ") +
          kGuard + " RETURNING status",
      id, worker_id, attempt, result);
  if (r.empty()) return std::nullopt;
  return parse_job_status(r.get(0, 0));
}

std::optional<JobStatus> fail_job(db::Connection& conn, const std::string& id,
                                  const std::string& worker_id, int attempt,
                                  const std::string& error, bool retryable,
                                  const RetryPolicy& policy, const JitterSource& jitter,
                                  std::string_view code) {
  auto delay = retry_delay(policy, attempt, jitter ? jitter() : 0.5);
  auto r = conn.query(
      std::string(
          "UPDATE control_plane.jobs SET "
          "  status = CASE WHEN cancel_requested THEN 'cancelled' "
          "                WHEN $5::boolean AND attempts < max_attempts THEN 'pending' "
          "                ELSE 'failed' END, "
          "  run_at = CASE WHEN NOT cancel_requested AND $5::boolean AND attempts < max_attempts "
          "                THEN now() + $6::bigint * interval '1 millisecond' ELSE run_at END, "
          "  completed_at = CASE WHEN cancel_requested OR NOT $5::boolean "
          "                        OR attempts >= max_attempts THEN now() END, "
          "  locked_until = NULL, last_error = $4, "
          "  errors = errors || jsonb_build_array(jsonb_build_object("
          "    'attempt', attempts, 'at', to_char(now() AT TIME ZONE 'UTC', "
          "    'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'error', $4::text, 'code', $7::text)) "
          "WHERE ") +
          kGuard + " RETURNING status",
      id, worker_id, attempt, error, retryable, ms(delay), code);
  if (r.empty()) return std::nullopt;
  return parse_job_status(r.get(0, 0));
}

bool finish_cancelled_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                          int attempt, const std::string& reason) {
  return conn.query(std::string("UPDATE control_plane.jobs SET status = 'cancelled', "
                                "locked_until = NULL, completed_at = now(), last_error = $4 "
                                "WHERE ") +
                        kGuard,
                    id, worker_id, attempt, reason)
             .affected() == 1;
}

std::optional<bool> lock_owned_job(db::Connection& conn, const std::string& id,
                                   const std::string& worker_id, int attempt) {
  auto r = conn.query(std::string("SELECT cancel_requested FROM control_plane.jobs WHERE ") +
                          kGuard + " FOR UPDATE",
                      id, worker_id, attempt);
  if (r.empty()) return std::nullopt;
  return r.boolean(0, 0);
}

bool release_job(db::Connection& conn, const std::string& id, const std::string& worker_id,
                 int attempt) {
  return conn.query(std::string(
                        "UPDATE control_plane.jobs SET "
                        "status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'pending' END, "
                        "completed_at = CASE WHEN cancel_requested THEN now() END, "
                        "attempts = attempts - 1, run_at = now(), locked_until = NULL "
                        "WHERE ") +
                        kGuard,
                    id, worker_id, attempt)
             .affected() == 1;
}

std::optional<JobStatus> continue_job_later(db::Connection& conn, const std::string& id,
                                            const std::string& worker_id, int attempt,
                                            std::chrono::milliseconds delay,
                                            const boost::json::value& progress) {
  auto r = conn.query(std::string("UPDATE control_plane.jobs SET "
                                  "status = CASE WHEN cancel_requested THEN 'cancelled' "
                                  "ELSE 'pending' END, "
                                  "completed_at = CASE WHEN cancel_requested THEN now() END, "
                                  "attempts = attempts - 1, locked_until = NULL, "
                                  "run_at = now() + $4::bigint * interval '1 millisecond', "
                                  "progress = $5::jsonb "
                                  "WHERE ") +
                          kGuard + " RETURNING status",
                      id, worker_id, attempt, ms(delay), boost::json::serialize(progress));
  if (r.empty()) return std::nullopt;
  return parse_job_status(r.get(0, 0));
}

std::vector<Job> rescue_expired_jobs(db::Connection& conn, const RetryPolicy& policy) {
  // The backoff is computed per row in SQL (the same formula as retry_delay,
  // with random() as the jitter) so that jobs rescued together spread out.
  auto r = conn.query(
      std::string(
          "UPDATE control_plane.jobs SET "
          "  status = CASE WHEN cancel_requested THEN 'cancelled' "
          "                WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END, "
          "  run_at = CASE WHEN NOT cancel_requested AND attempts < max_attempts THEN now() + "
          "    least($1::double precision * power(2, greatest(attempts - 1, 0)), $2::double "
          "precision) "
          "    * (1 - $3::double precision + 2 * $3::double precision * random()) "
          "    * interval '1 millisecond' ELSE run_at END, "
          "  completed_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END, "
          "  locked_until = NULL, last_error = 'lease expired (worker lost)', "
          "  errors = errors || jsonb_build_array(jsonb_build_object("
          "    'attempt', attempts, 'at', to_char(now() AT TIME ZONE 'UTC', "
          "    'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'error', 'lease expired (worker lost)', "
          "    'code', 'UNAVAILABLE')) "
          "WHERE status = 'running' AND locked_until < now() RETURNING ") +
          kColumns,
      static_cast<double>(policy.base.count()), static_cast<double>(policy.cap.count()),
      policy.jitter);
  std::vector<Job> rescued;
  rescued.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) rescued.push_back(job_from(r, i));
  return rescued;
}

std::optional<Job> cancel_job(db::Connection& conn, const std::string& id) {
  if (!is_uuid(id)) return std::nullopt;
  // In SET, `status` is the old value.
  return first_job(conn.query(
      std::string("UPDATE control_plane.jobs SET "
                  "  status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END, "
                  "  completed_at = CASE WHEN status = 'pending' THEN now() ELSE completed_at END, "
                  "  cancel_requested = cancel_requested OR status IN ('pending', 'running') "
                  "WHERE id = $1::uuid RETURNING ") +
          kColumns,
      id));
}

bool is_cancel_requested(db::Connection& conn, const std::string& id) {
  if (!is_uuid(id)) return false;
  auto r = conn.query("SELECT cancel_requested FROM control_plane.jobs WHERE id = $1::uuid", id);
  return !r.empty() && r.boolean(0, 0);
}

}  // namespace tb::store
