// A job whose payload does not parse fails for good at its first attempt,
// with a message naming the field and the VALIDATION_ERROR code: a retry
// would read the same bytes, and a missing or mistyped field must not be
// read as its default (an export in another format, a send of backup '').
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <string>

#include "core/clock.hpp"
#include "jobs/worker.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"
#include "support/migrated_database.hpp"
#include "workflows/handlers.hpp"

namespace tb::workflows {
namespace {

class JobPayloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::err);
    store::upsert_project(db_.conn(), "acme", "acme");
    options_.database_url = db_.conninfo();
  }

  // Enqueues one job and lets a worker with the real handlers run it once.
  store::Job run(const std::string& type, boost::json::object payload) {
    store::NewJob j;
    j.type = type;
    j.project_id = "acme";
    j.payload = std::move(payload);
    j.max_attempts = 3;
    auto id = store::enqueue_job(db_.conn(), j).id;
    Dependencies deps{options_, RealClock::instance()};
    jobs::WorkerOptions options;
    options.conninfo = db_.conninfo();
    jobs::Worker worker(options, job_handlers(deps));
    EXPECT_TRUE(worker.run_once());
    return *store::get_job(db_.conn(), id);
  }

  static void expect_refused(const store::Job& job, const std::string& field) {
    EXPECT_EQ(job.status, store::JobStatus::kFailed) << job.type;
    EXPECT_EQ(job.attempts, 1);
    auto error = job.last_error.value_or("");
    EXPECT_NE(error.find("payload cannot be read"), std::string::npos) << error;
    EXPECT_NE(error.find("'" + field + "'"), std::string::npos) << error;
    ASSERT_EQ(job.errors.size(), 1u);
    EXPECT_EQ(job.errors[0].as_object().at("code").as_string(), "VALIDATION_ERROR");
  }

  test::MigratedDatabase db_{"payloads"};
  Options options_;
};

TEST_F(JobPayloadTest, ExportWithAnUnknownFormatFailsForGood) {
  expect_refused(run("export", {{"format", "xml"}}), "format");
}

TEST_F(JobPayloadTest, ExportWithAMistypedCompressionIsNotReadAsTheDefault) {
  expect_refused(run("export", {{"compression", 9}, {"destinations", boost::json::array{"local"}}}),
                 "compression");
}

TEST_F(JobPayloadTest, BackupJobsWithoutABackupIdFailForGood) {
  expect_refused(run("restore", {{"backup_id", 7}}), "backup_id");
  expect_refused(run("telegram_send", {}), "backup_id");
  expect_refused(run("telegram_fetch", {{"backup_id", "not-a-uuid"}}), "backup_id");
  expect_refused(run("telegram_delete", {{"backup_id", boost::json::array{}}}), "backup_id");
}

}  // namespace
}  // namespace tb::workflows
