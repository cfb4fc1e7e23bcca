// ProjectLock: the per-project session lock that serialises a project's
// export and restore jobs, and the job-session names that let a waiter tell a
// stale holder (a frozen worker's attempt) from a live one.
#include "workflows/project_lock.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "db/conninfo.hpp"
#include "store/job_queries.hpp"

namespace tb::workflows {
namespace {

// application_name holds at most 63 bytes (NAMEDATALEN - 1; longer is cut):
// 7 + 36 (uuid) + 9 + 10 (int) = 62.
constexpr std::string_view kSessionPrefix = "tb job ";

// "90 minutes", "1 minute", "5 seconds": how long a job waited, for its error.
std::string waited_words(std::chrono::milliseconds wait) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wait).count();
  auto plural = [](long long n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
  };
  return seconds >= 120 ? plural(seconds / 60, "minute") : plural(seconds, "second");
}

}  // namespace

std::string job_session_name(const std::string& job_id, int attempt) {
  return std::string(kSessionPrefix) + job_id + " attempt " + std::to_string(attempt);
}

std::optional<JobAttempt> parse_job_session_name(std::string_view name) {
  if (!name.starts_with(kSessionPrefix)) return std::nullopt;
  name.remove_prefix(kSessionPrefix.size());
  constexpr std::string_view kAttempt = " attempt ";
  auto at = name.find(kAttempt);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  JobAttempt out;
  out.job_id = std::string(name.substr(0, at));
  auto digits = name.substr(at + kAttempt.size());
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.attempt);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      out.attempt < 1) {
    return std::nullopt;
  }
  // Only a uuid is a job id: anything else is not one of our sessions.
  if (!is_uuid(out.job_id)) return std::nullopt;
  return out;
}

std::string with_application_name(const std::string& conninfo, const std::string& name) {
  auto options = db::parse_conninfo(conninfo);
  std::erase_if(options, [](const auto& o) { return o.first == "application_name"; });
  options.emplace_back("application_name", name);
  return db::format_conninfo(options);
}

ProjectLock::ProjectLock(const std::string& conninfo, const std::string& project_id,
                         const std::string& session_name, const std::atomic<bool>& cancel,
                         const ProjectLockOptions& options)
    : conn_(std::make_unique<db::Connection>(
          db::Connection::open(with_application_name(conninfo, session_name)))),
      session_name_(session_name) {
  const auto lock = store::project_lock_name(project_id);
  const auto deadline = std::chrono::steady_clock::now() + options.max_wait;
  // The holder is judged on the first look, then about once a second: a
  // frozen worker's lease takes JOB_LEASE_SECONDS to run out anyway.
  auto next_judgement = std::chrono::steady_clock::now();
  for (;;) {
    // Probe only when nobody visibly holds it (a probe of a held row still
    // costs a transaction id).
    auto holder = store::lock_holder(*conn_, lock);
    if (!holder && store::try_lock(*conn_, lock)) return;
    if (cancel.load()) {
      throw Cancelled("cancelled while waiting for the project's other job");
    }
    auto now = std::chrono::steady_clock::now();
    if (holder && now >= next_judgement) {
      next_judgement = now + std::chrono::seconds(1);
      if (break_stale_holder(project_id, *holder)) continue;  // try again at once
    }
    if (now >= deadline) {
      if (options.wait_timeouts != nullptr) options.wait_timeouts->inc();
      const std::string holder_text = holder ? fmt::format("pid {} '{}' (role {})", holder->pid,
                                                           holder->application_name, holder->role)
                                             : std::string("a session that ended meanwhile");
      spdlog::warn("project {}: gave up waiting for its lock after {} ms; held by {}", project_id,
                   options.max_wait.count(), holder_text);
      throw Error(ErrorCode::kProjectBusy,
                  fmt::format("another backup or restore of this project was still running after "
                              "{}; this job stopped waiting for it",
                              waited_words(options.max_wait)),
                  fmt::format("project lock '{}' held by {}", lock, holder_text));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

ProjectLock::~ProjectLock() = default;

bool ProjectLock::break_stale_holder(const std::string& project_id,
                                     const store::LockHolder& lock_holder) {
  auto holder = parse_job_session_name(lock_holder.application_name);
  if (!holder) return false;  // not a job session: never ours to break
  auto job = store::job_lease(*conn_, holder->job_id);
  std::string reason;
  if (!job) {
    reason = "the job no longer exists";
  } else if (job->status != store::JobStatus::kRunning) {
    reason = "the job is " + std::string(store::to_string(job->status));
  } else if (job->attempts != holder->attempt) {
    reason = "the job is at attempt " + std::to_string(job->attempts);
  } else if (!job->lease_live) {
    reason = "its lease expired";
  } else {
    return false;  // a live holder: wait for it
  }
  auto name = job_session_name(holder->job_id, holder->attempt);
  try {
    auto killed = conn_->query(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity "
        "WHERE application_name = $1 AND pid <> pg_backend_pid()",
        name);
    spdlog::warn(
        "project {}: job {} attempt {} still held the project's lock but no longer owns its job "
        "({}); "
        "terminated its {} database session(s)",
        project_id, holder->job_id, holder->attempt, reason, killed.text(0, 0));
    return true;
  } catch (const db::DbError& e) {
    if (e.kind() == db::DbError::Kind::kConnectionLost) throw;
    // Typically SQLSTATE 42501: the service's role may not signal the
    // holder's (another role). Waiting is all that is left.
    if (!warned_refused_) {
      warned_refused_ = true;
      spdlog::warn(
          "project {}: cannot end the stale sessions of job {} attempt {} ({}): {}; waiting for "
          "them",
          project_id, holder->job_id, holder->attempt, reason, e.detail());
    }
    return false;
  }
}

void ProjectLock::ensure_held() {
  try {
    conn_->query("SELECT 1");
  } catch (const db::DbError& e) {
    throw Error(ErrorCode::kUnavailable,
                "the project's lock was lost before the job finished; it will be retried",
                "ProjectLock session " + session_name_ + ": " + e.detail());
  }
}

}  // namespace tb::workflows
