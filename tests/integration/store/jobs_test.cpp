// The job queue's SQL (store/jobs) against a real database: claim, guards,
// retries with backoff, max_attempts, rescue of lost leases, cancel.
#include "store/jobs.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "core/ids.hpp"
#include "fixture.hpp"

namespace tb::store::testing {
namespace {

using namespace std::chrono_literals;

using Queue = StoreTest;

NewJob export_job(std::optional<std::string> key = std::nullopt) {
  NewJob j;
  j.type = "export";
  j.project_id = "p1";
  j.payload = {{"format", "sql"}};
  j.idempotency_key = std::move(key);
  return j;
}

const JitterSource kMiddle = [] { return 0.5; };  // jitter factor exactly 1.0

TEST_F(Queue, EnqueueAndGet) {
  auto j = enqueue_job(conn(), export_job());
  EXPECT_TRUE(is_uuid(j.id));
  EXPECT_EQ(j.status, JobStatus::kPending);
  EXPECT_EQ(j.attempts, 0);
  EXPECT_EQ(j.max_attempts, 3);
  auto got = get_job(conn(), j.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload.at("format").as_string(), "sql");
  EXPECT_FALSE(get_job(conn(), "1; DROP TABLE x").has_value());
  auto json = to_json(*got);
  EXPECT_EQ(json.at("status").as_string(), "pending");
  EXPECT_TRUE(json.at("started_at").is_null());
  EXPECT_EQ(json.at("errors").as_array().size(), 0u);
  EXPECT_EQ(list_jobs(conn(), "p1").size(), 1u);
}

TEST_F(Queue, IdempotencyKeyReturnsTheExistingJob) {
  auto a = enqueue_job(conn(), export_job("req-1"));
  auto b = enqueue_job(conn(), export_job("req-1"));
  auto c = enqueue_job(conn(), export_job("req-2"));
  EXPECT_EQ(a.id, b.id);
  EXPECT_NE(a.id, c.id);
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.jobs"), "2");
}

TEST_F(Queue, ClaimTakesDueJobsOfTheWantedTypesOnce) {
  auto later = export_job();
  later.run_at = conn().exec("SELECT now() + interval '1 hour'").time(0, 0);
  enqueue_job(conn(), later);
  NewJob restore = export_job();
  restore.type = "restore";
  auto r = enqueue_job(conn(), restore);
  EXPECT_FALSE(claim_job(conn(), "w1", 30s, {"export"}).has_value());
  auto claimed = claim_job(conn(), "w1", 30s, {"export", "restore"});
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, r.id);
  EXPECT_EQ(claimed->status, JobStatus::kRunning);
  EXPECT_EQ(claimed->attempts, 1);
  EXPECT_EQ(claimed->locked_by, "w1");
  ASSERT_TRUE(claimed->locked_until && claimed->started_at);
  EXPECT_NEAR(std::chrono::duration<double>(*claimed->locked_until - *claimed->started_at).count(),
              30.0, 0.01);
  EXPECT_FALSE(claim_job(conn(), "w2", 30s).has_value());
}

TEST_F(Queue, ConcurrentClaimsNeverShareAJob) {
  for (int i = 0; i < 40; ++i) enqueue_job(conn(), export_job());
  std::vector<std::thread> threads;
  std::mutex m;
  std::vector<std::string> ids;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto c = db::Connection::open(db_.conninfo());
      while (auto j = claim_job(c, "w" + std::to_string(t), 30s)) {
        std::lock_guard lock(m);
        ids.push_back(j->id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(ids.size(), 40u);
  EXPECT_EQ(unique.size(), 40u);
}

TEST_F(Queue, CompleteIsGuardedByOwnerAndAttempt) {
  auto j = enqueue_job(conn(), export_job());
  auto c = claim_job(conn(), "w1", 30s);
  ASSERT_TRUE(c);
  EXPECT_FALSE(complete_job(conn(), j.id, "w2", 1, boost::json::object{}));
  EXPECT_FALSE(complete_job(conn(), j.id, "w1", 2, boost::json::object{}));
  EXPECT_TRUE(update_job_progress(conn(), j.id, "w1", 1, boost::json::object{{"bytes", 42}}));
  EXPECT_TRUE(complete_job(conn(), j.id, "w1", 1, boost::json::object{{"backup_id", "b"}}));
  EXPECT_FALSE(complete_job(conn(), j.id, "w1", 1, boost::json::object{}));  // once
  auto done = get_job(conn(), j.id);
  EXPECT_EQ(done->status, JobStatus::kCompleted);
  EXPECT_EQ(done->result.at("backup_id").as_string(), "b");
  EXPECT_EQ(done->progress.at("bytes").as_int64(), 42);
  EXPECT_TRUE(done->completed_at.has_value());
  EXPECT_FALSE(renew_job(conn(), j.id, "w1", 1, 30s).held);
}

TEST_F(Queue, FailRetriesWithExponentialBackoffThenFails) {
  auto j = enqueue_job(conn(), export_job());
  ASSERT_TRUE(claim_job(conn(), "w1", 30s));
  auto st = fail_job(conn(), j.id, "w1", 1, "pg_dump exited with 1", true, RetryPolicy{}, kMiddle);
  EXPECT_EQ(st, JobStatus::kPending);
  auto delay = [&] {
    return std::stod(value("SELECT extract(epoch FROM run_at - now()) FROM control_plane.jobs"));
  };
  EXPECT_NEAR(delay(), 2.0, 0.5);                          // base 2 s * 2^0
  EXPECT_FALSE(claim_job(conn(), "w1", 30s).has_value());  // not due yet
  // Make it due, claim again: the second failure waits 4 s.
  conn().exec("UPDATE control_plane.jobs SET run_at = now()");
  ASSERT_TRUE(claim_job(conn(), "w1", 30s));
  EXPECT_EQ(fail_job(conn(), j.id, "w1", 2, "again", true, RetryPolicy{}, kMiddle),
            JobStatus::kPending);
  EXPECT_NEAR(delay(), 4.0, 0.5);
  conn().exec("UPDATE control_plane.jobs SET run_at = now()");
  ASSERT_TRUE(claim_job(conn(), "w1", 30s));
  EXPECT_EQ(fail_job(conn(), j.id, "w1", 3, "third time", true, RetryPolicy{}, kMiddle),
            JobStatus::kFailed);
  auto f = get_job(conn(), j.id);
  EXPECT_EQ(f->status, JobStatus::kFailed);
  EXPECT_EQ(f->attempts, 3);
  EXPECT_EQ(f->last_error, "third time");
  ASSERT_EQ(f->errors.size(), 3u);
  EXPECT_EQ(f->errors[0].at("error").as_string(), "pg_dump exited with 1");
  EXPECT_EQ(f->errors[0].at("attempt").as_int64(), 1);
  EXPECT_EQ(f->errors[2].at("attempt").as_int64(), 3);
  EXPECT_TRUE(f->completed_at.has_value());
}

TEST_F(Queue, NonRetryableFailureFailsAtOnce) {
  auto j = enqueue_job(conn(), export_job());
  ASSERT_TRUE(claim_job(conn(), "w1", 30s));
  EXPECT_FALSE(fail_job(conn(), j.id, "w2", 1, "not mine", true).has_value());
  EXPECT_EQ(fail_job(conn(), j.id, "w1", 1, "schema does not exist", false), JobStatus::kFailed);
  EXPECT_EQ(get_job(conn(), j.id)->attempts, 1);
}

TEST(RetryDelay, DoublesCapsAndJitters) {
  RetryPolicy p;
  EXPECT_EQ(retry_delay(p, 1, 0.5), 2000ms);
  EXPECT_EQ(retry_delay(p, 2, 0.5), 4000ms);
  EXPECT_EQ(retry_delay(p, 5, 0.5), 32000ms);
  EXPECT_EQ(retry_delay(p, 20, 0.5), 300000ms);
  EXPECT_EQ(retry_delay(p, 1, 0.0), 1600ms);
  EXPECT_EQ(retry_delay(p, 1, 1.0), 2400ms);
}

TEST_F(Queue, ExpiredLeaseIsRescuedAndAStaleWorkerCannotComplete) {
  auto j = enqueue_job(conn(), export_job());
  ASSERT_TRUE(claim_job(conn(), "stale", 1ms));
  std::this_thread::sleep_for(20ms);
  RetryPolicy fast{1ms, 1ms, 0.0};
  EXPECT_EQ(rescue_expired_jobs(conn(), fast).size(), 1u);
  EXPECT_EQ(rescue_expired_jobs(conn(), fast).size(), 0u);
  auto r = get_job(conn(), j.id);
  EXPECT_EQ(r->status, JobStatus::kPending);
  EXPECT_EQ(r->last_error, "lease expired (worker lost)");
  ASSERT_EQ(r->errors.size(), 1u);
  std::this_thread::sleep_for(5ms);
  auto again = claim_job(conn(), "fresh", 30s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempts, 2);
  // The stale worker wakes up: none of its calls may touch the job now.
  EXPECT_FALSE(renew_job(conn(), j.id, "stale", 1, 30s).held);
  EXPECT_FALSE(update_job_progress(conn(), j.id, "stale", 1, boost::json::object{}));
  EXPECT_FALSE(complete_job(conn(), j.id, "stale", 1, boost::json::object{}));
  EXPECT_FALSE(fail_job(conn(), j.id, "stale", 1, "x", true).has_value());
  EXPECT_TRUE(complete_job(conn(), j.id, "fresh", 2, boost::json::object{}));
  EXPECT_EQ(get_job(conn(), j.id)->status, JobStatus::kCompleted);
}

TEST_F(Queue, RescueOfTheLastAttemptFails) {
  auto nj = export_job();
  nj.max_attempts = 1;
  auto j = enqueue_job(conn(), nj);
  ASSERT_TRUE(claim_job(conn(), "w", 1ms));
  std::this_thread::sleep_for(20ms);
  auto rescued = rescue_expired_jobs(conn());
  ASSERT_EQ(rescued.size(), 1u);
  // The caller learns that this rescue ended the job (it sends the notice).
  EXPECT_EQ(rescued[0].id, j.id);
  EXPECT_EQ(rescued[0].status, JobStatus::kFailed);
  auto f = get_job(conn(), j.id);
  EXPECT_EQ(f->status, JobStatus::kFailed);
  EXPECT_EQ(f->last_error, "lease expired (worker lost)");
}

TEST_F(Queue, RenewExtendsTheLease) {
  auto j = enqueue_job(conn(), export_job());
  ASSERT_TRUE(claim_job(conn(), "w", 200ms));
  auto r = renew_job(conn(), j.id, "w", 1, 30s);
  EXPECT_TRUE(r.held);
  EXPECT_FALSE(r.cancel_requested);
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(rescue_expired_jobs(conn()).size(), 0u);
}

TEST_F(Queue, CancelPendingAndRunning) {
  auto p = enqueue_job(conn(), export_job());
  auto cancelled = cancel_job(conn(), p.id);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, JobStatus::kCancelled);
  EXPECT_FALSE(claim_job(conn(), "w", 30s).has_value());

  auto r = enqueue_job(conn(), export_job());
  ASSERT_TRUE(claim_job(conn(), "w", 30s));
  auto c = cancel_job(conn(), r.id);
  EXPECT_EQ(c->status, JobStatus::kRunning);
  EXPECT_TRUE(c->cancel_requested);
  EXPECT_TRUE(is_cancel_requested(conn(), r.id));
  auto renew = renew_job(conn(), r.id, "w", 1, 30s);
  EXPECT_TRUE(renew.held);
  EXPECT_TRUE(renew.cancel_requested);
  // A handler that gives up after the cancel: the job ends cancelled, not retried.
  EXPECT_EQ(fail_job(conn(), r.id, "w", 1, "pg_dump killed", true), JobStatus::kCancelled);
  // Cancelling a finished job changes nothing.
  EXPECT_EQ(cancel_job(conn(), r.id)->status, JobStatus::kCancelled);
  EXPECT_FALSE(cancel_job(conn(), tb::new_uuid()).has_value());
}

TEST_F(Queue, ReleaseHandsBackWithoutCountingTheAttempt) {
  auto j = enqueue_job(conn(), export_job());
  ASSERT_TRUE(claim_job(conn(), "w", 30s));
  EXPECT_TRUE(release_job(conn(), j.id, "w", 1));
  auto r = get_job(conn(), j.id);
  EXPECT_EQ(r->status, JobStatus::kPending);
  EXPECT_EQ(r->attempts, 0);
  EXPECT_TRUE(claim_job(conn(), "w2", 30s).has_value());
  // A job whose cancel was requested is not handed back to run again.
  cancel_job(conn(), j.id);
  EXPECT_TRUE(release_job(conn(), j.id, "w2", 1));
  EXPECT_EQ(get_job(conn(), j.id)->status, JobStatus::kCancelled);
}

}  // namespace
}  // namespace tb::store::testing
