// A failed run is listed: an export job that ends failed, by whichever path
// (its last attempt, a refusal that is not retried, a lease that ran out on
// the last attempt), leaves one backups row in status failed with the
// reason, in the same transaction, and an audit entry. Retries, cancels and
// other job types leave none. Such rows never count as a successful backup
// and are removed at their expiry.
#include <gtest/gtest.h>

#include <thread>

#include "fixture.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"

namespace tb::store::testing {
namespace {

using namespace std::chrono_literals;

using FailedRuns = StoreTest;

const JitterSource kMiddle = [] { return 0.5; };
const RetryPolicy kNoWait{1ms, 1ms, 0.0};

Job scheduled_export(db::Connection& conn, int max_attempts) {
  NewJob j;
  j.type = "export";
  j.project_id = "p1";
  j.payload = {{"kind", "scheduled"}, {"format", "tar"}, {"compression", "gzip"}};
  j.max_attempts = max_attempts;
  return enqueue_job(conn, j);
}

// Claims the job's next attempt (waiting out the tiny retry delay).
Job claim(db::Connection& conn) {
  for (int i = 0; i < 500; ++i) {
    if (auto j = claim_job(conn, "w", 30s)) return *j;
    std::this_thread::sleep_for(5ms);
  }
  throw std::runtime_error("no job became claimable");
}

TEST_F(FailedRuns, TheLastFailedAttemptListsTheRunWithItsReason) {
  conn().exec(
      "INSERT INTO control_plane.backup_settings (project_id, retention_days) "
      "VALUES ('p1', 10)");
  auto job = scheduled_export(conn(), 2);
  auto a1 = claim(conn());
  ASSERT_EQ(fail_job(conn(), job.id, "w", a1.attempts, "pg_dump failed: first", true, kNoWait,
                     kMiddle, "UNAVAILABLE"),
            JobStatus::kPending);
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.backups"), "0") << "a retry is not a result";

  auto a2 = claim(conn());
  ASSERT_EQ(fail_job(conn(), job.id, "w", a2.attempts, "pg_dump failed: second", true, kNoWait,
                     kMiddle, "UNAVAILABLE"),
            JobStatus::kFailed);
  auto page = list_backups(conn(), "p1", 10);
  ASSERT_EQ(page.items.size(), 1u);
  const auto& b = page.items[0];
  EXPECT_EQ(b.status, model::BackupStatus::kFailed);
  EXPECT_EQ(b.job_id, job.id);
  EXPECT_EQ(b.kind, "scheduled");
  EXPECT_EQ(b.format, "tar");
  EXPECT_EQ(b.compression, "gzip");
  EXPECT_EQ(b.error, "pg_dump failed: second");
  EXPECT_EQ(b.error_code, "UNAVAILABLE");
  EXPECT_EQ(b.created_at, job.created_at);
  EXPECT_EQ(b.expires_at, job.created_at + std::chrono::hours(24 * 10));
  EXPECT_TRUE(b.locations.as_array().empty());
  EXPECT_FALSE(b.sha256.has_value());
  auto json = to_json(b);
  EXPECT_EQ(json.at("status").as_string(), "failed");
  EXPECT_EQ(json.at("error").as_string(), "pg_dump failed: second");
  EXPECT_EQ(json.at("error_code").as_string(), "UNAVAILABLE");
  // Activity names it too, as a failure.
  EXPECT_EQ(value("SELECT action || ' ' || target || ' ' || outcome FROM control_plane.audit_log"),
            "backup.export " + job.id + " failed: pg_dump failed: second");
  // A failed run is not a successful backup.
  EXPECT_FALSE(last_completed_at(conn(), "p1").has_value());
}

TEST_F(FailedRuns, ARefusalAndALostLastLeaseAreListedToo) {
  auto refused = scheduled_export(conn(), 3);
  auto a = claim(conn());
  ASSERT_EQ(fail_job(conn(), refused.id, "w", a.attempts, "S3 refused the credentials", false,
                     kNoWait, kMiddle, "FORBIDDEN"),
            JobStatus::kFailed);

  auto lost = scheduled_export(conn(), 1);
  ASSERT_TRUE(claim_job(conn(), "dead", 1ms));
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(rescue_expired_jobs(conn(), kNoWait).size(), 1u);
  EXPECT_EQ(get_job(conn(), lost.id)->status, JobStatus::kFailed);

  EXPECT_EQ(value("SELECT string_agg(error_code || ': ' || error, ' | ' ORDER BY error_code) "
                  "FROM control_plane.backups WHERE status = 'failed'"),
            "FORBIDDEN: S3 refused the credentials | UNAVAILABLE: lease expired (worker lost)");
}

TEST_F(FailedRuns, CancelsRetriesAndOtherJobTypesListNothing) {
  auto cancelled = scheduled_export(conn(), 1);
  auto a = claim(conn());
  ASSERT_TRUE(cancel_job(conn(), cancelled.id));
  EXPECT_EQ(
      fail_job(conn(), cancelled.id, "w", a.attempts, "stopped", false, kNoWait, kMiddle, "X"),
      JobStatus::kCancelled);

  NewJob restore;
  restore.type = "restore";
  restore.project_id = "p1";
  restore.max_attempts = 1;
  auto r = enqueue_job(conn(), restore);
  auto b = claim(conn());
  ASSERT_EQ(fail_job(conn(), r.id, "w", b.attempts, "psql failed", false), JobStatus::kFailed);
  EXPECT_EQ(value("SELECT count(*) FROM control_plane.backups"), "0");
}

TEST_F(FailedRuns, OnlyFailedRowsPastTheirExpiryAreRemoved) {
  auto now = conn().exec("SELECT now()").time(0, 0);
  auto job = scheduled_export(conn(), 1);
  auto a = claim(conn());
  ASSERT_EQ(fail_job(conn(), job.id, "w", a.attempts, "gone", false), JobStatus::kFailed);
  Backup done;
  done.project_id = "p1";
  done.sha256 = std::string(64, 'a');
  done.created_at = now - std::chrono::hours(24 * 40);
  done.expires_at = now - std::chrono::hours(24 * 10);  // expired, but retention's to handle
  insert_backup(conn(), done);

  EXPECT_EQ(remove_expired_failures(conn(), now), 0) << "the failure is 30 days from expiry";
  EXPECT_EQ(remove_expired_failures(conn(), now + std::chrono::hours(24 * 31)), 1);
  EXPECT_EQ(value("SELECT string_agg(status, ',') FROM control_plane.backups"), "completed");
  EXPECT_EQ(last_completed_at(conn(), "p1"), done.created_at);
}

}  // namespace
}  // namespace tb::store::testing
