// The retention sweep against a real database, real files and a real SMTP
// server, with injected time: expiry (reference first, then file), a crash
// between the two steps, orphan files (never a running export's, never when a
// live backup's file cannot be checked, e.g. behind a dangling folder link), pre-restore schemas,
// the one expiry notice, retention applied to existing backups, and the lifecycle gauges.
#include "workflows/retention.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "backup/restore.hpp"
#include "core/error.hpp"
#include "db/connection.hpp"
#include "db/pool.hpp"
#include "metrics/registry.hpp"
#include "schedule/lifecycle_metrics.hpp"
#include "store/backups.hpp"
#include "store/jobs.hpp"
#include "store/projects.hpp"
#include "store/settings.hpp"
#include "support/migrated_database.hpp"
#include "support/pg_cluster.hpp"
#include "support/smtp_server.hpp"

namespace tb::workflows {
namespace {

using namespace std::chrono;
namespace fs = std::filesystem;
using tb::test::PgCluster;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    store::upsert_project(db_.conn(), "acme", "acme");
    storage_ = tb::test::make_temp_dir("retention");
    now_ = SystemTime{
        floor<microseconds>(system_clock::now().time_since_epoch())};  // database precision
  }
  void TearDown() override { fs::remove_all(storage_); }
  RetentionOptions options() {
    RetentionOptions o;
    o.storage_dir = storage_;
    o.public_url = "https://backups.example.com/";
    return o;
  }
  // A completed backup with a real local file, expiring at `expires`.
  store::Backup backup(const std::string& file, SystemTime expires, SystemTime created = {}) {
    fs::create_directories(storage_ + "/acme");
    std::ofstream(storage_ + "/acme/" + file) << "dump of " << file;
    return backup_row("acme/" + file, expires,
                      created == SystemTime{} ? expires - hours(24 * 30) : created);
  }
  // A completed backup's row whose local copy is at `path` (the file is the
  // test's business).
  store::Backup backup_row(const std::string& path, SystemTime expires, SystemTime created) {
    store::Backup b;
    b.project_id = "acme";
    b.size_bytes = 2048;
    b.sha256 = std::string(64, 'a');
    b.locations = boost::json::array{boost::json::object{{"type", "local"}, {"path", path}}};
    b.created_at = created;
    b.expires_at = expires;
    return store::insert_backup(db_.conn(), b);
  }
  std::string status(const std::string& id) {
    return std::string(model::to_string(store::get_backup(db_.conn(), id)->status));
  }
  bool exists(const std::string& file) { return fs::exists(storage_ + "/acme/" + file); }
  // Every backup listed as completed has its file (the invariant a crash must keep).
  void expect_completed_backups_have_files() {
    auto r = db_.conn().exec(
        "SELECT locations->0->>'path' FROM control_plane.backups WHERE status = 'completed'");
    for (int i = 0; i < r.rows(); ++i)
      EXPECT_TRUE(fs::exists(storage_ + "/" + r.text(i, 0))) << r.text(i, 0);
  }

  tb::test::MigratedDatabase db_{"retention"};
  std::string storage_;
  SystemTime now_;
};

TEST_F(RetentionTest, ExpiredBackupsLeaveTheDiskAndShowAsExpired) {
  auto old = backup("old.sql.zst", now_ - hours(1));
  auto young = backup("young.sql.zst", now_ + hours(24 * 10));
  // A failed run's row (no file) past its expiry is removed; a younger one stays.
  store::Backup failed;
  failed.project_id = "acme";
  failed.status = model::BackupStatus::kFailed;
  for (auto expires : {now_ - hours(1), now_ + hours(1)}) {
    failed.expires_at = expires;
    store::insert_backup(db_.conn(), failed);
  }
  RetentionSweeper sweeper(db_.conninfo(), options());
  auto report = sweeper.run_once(now_);
  EXPECT_EQ(report.expired, 1);
  EXPECT_EQ(report.files_removed, 1);
  EXPECT_EQ(report.failures_removed, 1);
  EXPECT_EQ(db_.value("DELETE FROM control_plane.backups WHERE status = 'failed' RETURNING 1"),
            "1");
  EXPECT_EQ(status(old.id), "expired");
  EXPECT_FALSE(exists("old.sql.zst"));
  EXPECT_EQ(status(young.id), "completed");
  EXPECT_TRUE(exists("young.sql.zst"));
  // History keeps the expired row, marked as such (only "deleted" rows are hidden).
  auto page = store::list_backups(db_.conn(), "acme", 10);
  ASSERT_EQ(page.items.size(), 2u);
  for (const auto& b : page.items)
    EXPECT_EQ(model::to_string(b.status), b.id == old.id ? "expired" : "completed");
  // A second sweep finds nothing more.
  EXPECT_EQ(sweeper.run_once(now_).expired, 0);
  expect_completed_backups_have_files();
}

TEST_F(RetentionTest, ACrashBetweenTheStepsLeavesNoListedBackupWithoutItsFile) {
  auto old = backup("old.sql.zst", now_ - hours(1));
  backup("young.sql.zst", now_ + hours(24));
  // The sweep "crashes" after step 1: the row is expired, the file still there.
  auto marked = mark_expired_backups(db_.conn(), now_, 100);
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_EQ(status(old.id), "expired");
  EXPECT_TRUE(exists("old.sql.zst"));
  expect_completed_backups_have_files();
  // A second sweeper does not get the row again: the leftover file is an orphan now.
  EXPECT_TRUE(mark_expired_backups(db_.conn(), now_, 100).empty());
  RetentionSweeper sweeper(db_.conninfo(), options());
  EXPECT_EQ(sweeper.run_once(now_).orphans_removed, 0);  // younger than the grace
  EXPECT_TRUE(exists("old.sql.zst"));
  EXPECT_EQ(sweeper.run_once(now_ + hours(2)).orphans_removed, 1);
  EXPECT_FALSE(exists("old.sql.zst"));
  EXPECT_TRUE(exists("young.sql.zst"));
  expect_completed_backups_have_files();
}

TEST_F(RetentionTest, OrphanSweepRemovesOnlyStaleUnreferencedBackupFilesAndTempFiles) {
  backup("kept.sql.zst", now_ + hours(24));
  fs::create_directories(storage_ + "/custom/deep");
  std::ofstream(storage_ + "/acme/.lost.sql.zst.tmp-ab12cd") << "partial";
  std::ofstream(storage_ + "/custom/deep/unknown.tar.gz") << "no row";
  std::ofstream(storage_ + "/custom/notes.txt") << "not a backup file";
  fs::create_symlink(storage_ + "/acme/kept.sql.zst", storage_ + "/custom/link.sql.zst");
  auto removed = remove_orphan_files(db_.conn(), options(), now_ + hours(2));
  EXPECT_EQ(removed, 2);
  EXPECT_TRUE(exists("kept.sql.zst"));
  EXPECT_FALSE(exists(".lost.sql.zst.tmp-ab12cd"));
  EXPECT_FALSE(fs::exists(storage_ + "/custom/deep/unknown.tar.gz"));
  EXPECT_TRUE(fs::exists(storage_ + "/custom/notes.txt"));
  EXPECT_TRUE(fs::is_symlink(storage_ + "/custom/link.sql.zst"));
}

// Encrypted backups end in ".age": a stale unlisted one is an orphan like any
// other backup file, and a running export's encrypted file is known by the
// job tag before the suffixes.
TEST_F(RetentionTest, EncryptedBackupFilesAreKnownToTheOrphanSweep) {
  backup("kept.sql.zst.age", now_ + hours(24));
  store::NewJob nj;
  nj.type = "export";
  nj.project_id = "acme";
  store::enqueue_job(db_.conn(), nj);
  auto job = store::claim_job(db_.conn(), "w1", seconds(60), {"export"});
  ASSERT_TRUE(job.has_value());
  const auto running = "acme-2026-01-02T03-04-05Z-" + job->id.substr(0, 8) + ".tar.gz.age";
  std::ofstream(storage_ + "/acme/" + running) << "being sent to Telegram";
  std::ofstream(storage_ + "/acme/lost-2026-01-02T03-04-05Z-0badcafe.sql.age") << "no row";
  auto opts = options();
  opts.orphan_grace = seconds(0);
  EXPECT_EQ(remove_orphan_files(db_.conn(), opts, now_ + hours(2)), 1);
  EXPECT_FALSE(exists("lost-2026-01-02T03-04-05Z-0badcafe.sql.age"));
  EXPECT_TRUE(exists("kept.sql.zst.age"));
  EXPECT_TRUE(exists(running));
}

TEST_F(RetentionTest, ARunningExportsFileIsNotAnOrphanHoweverLongItsUploadTakes) {
  // Two exports have renamed their file into place; their rows do not exist yet.
  auto export_job = [&](const std::string& worker) {
    store::NewJob nj;
    nj.type = "export";
    nj.project_id = "acme";
    store::enqueue_job(db_.conn(), nj);
    auto job = store::claim_job(db_.conn(), worker, seconds(60), {"export"});
    EXPECT_TRUE(job.has_value());
    auto file = "acme-2026-01-02T03-04-05Z-" + job->id.substr(0, 8) + ".sql.zst";
    fs::create_directories(storage_ + "/acme");
    std::ofstream(storage_ + "/acme/" + file) << "dump of " << job->id;
    return std::make_pair(*job, file);
  };
  auto [uploading, file] = export_job("w1");
  auto [failing, failed_file] = export_job("w2");
  auto opts = options();
  opts.orphan_grace = seconds(0);
  // Hours later the uploads still run: the files stay.
  EXPECT_EQ(remove_orphan_files(db_.conn(), opts, now_ + hours(5)), 0);
  EXPECT_TRUE(exists(file));
  EXPECT_TRUE(exists(failed_file));

  // One completes (its row lists the file), the other fails for good.
  store::Backup b;
  b.project_id = "acme";
  b.job_id = uploading.id;
  b.sha256 = std::string(64, 'a');
  b.locations =
      boost::json::array{boost::json::object{{"type", "local"}, {"path", "acme/" + file}}};
  b.created_at = now_;
  b.expires_at = now_ + hours(24);
  store::insert_backup(db_.conn(), b);
  ASSERT_TRUE(store::complete_job(db_.conn(), uploading.id, "w1", uploading.attempts,
                                  boost::json::object{}));
  ASSERT_EQ(
      store::fail_job(db_.conn(), failing.id, "w2", failing.attempts, "telegram said no", false),
      store::JobStatus::kFailed);
  EXPECT_EQ(remove_orphan_files(db_.conn(), opts, now_ + hours(6)), 1);
  EXPECT_TRUE(exists(file)) << "referenced by its backup now";
  EXPECT_FALSE(exists(failed_file)) << "no job and no backup holds it any more";
}

TEST_F(RetentionTest, ALiveBackupIsReferencedWhateverTheSpellingOfItsPath) {
  backup("kept.sql.zst", now_ + hours(24));
  // STORAGE_DIR given through a symlink: the rows' paths resolve to the real
  // folder, the sweep walks the link's.
  auto link = tb::test::make_temp_dir("retention-link") + "/storage";
  fs::create_directory_symlink(storage_, link);
  auto opts = options();
  opts.storage_dir = link;
  EXPECT_EQ(remove_orphan_files(db_.conn(), opts, now_ + hours(2)), 0);
  EXPECT_TRUE(exists("kept.sql.zst"));
  fs::remove_all(fs::path(link).parent_path());
}

TEST_F(RetentionTest, ALocationThatCannotBeCheckedMakesTheSweepDeleteNothing) {
  backup("kept.sql.zst", now_ + hours(24));
  std::ofstream(storage_ + "/acme/stale.sql.zst") << "an orphan";
  // A completed backup whose folder is a symlink loop: resolving its path
  // fails (ELOOP), as a transient filesystem error would.
  fs::create_directory_symlink("loop", storage_ + "/acme/loop");
  store::Backup b;
  b.project_id = "acme";
  b.sha256 = std::string(64, 'b');
  b.locations =
      boost::json::array{boost::json::object{{"type", "local"}, {"path", "acme/loop/x.sql.zst"}}};
  b.created_at = now_;
  b.expires_at = now_ + hours(24);
  store::insert_backup(db_.conn(), b);
  EXPECT_THROW(remove_orphan_files(db_.conn(), options(), now_ + hours(2)), Error);
  RetentionSweeper sweeper(db_.conninfo(), options());
  EXPECT_EQ(sweeper.run_once(now_ + hours(2)).orphans_removed, 0);
  EXPECT_TRUE(exists("stale.sql.zst"));
  EXPECT_TRUE(exists("kept.sql.zst"));
  // Once every location can be checked again, the orphan goes.
  fs::remove(storage_ + "/acme/loop");
  EXPECT_EQ(remove_orphan_files(db_.conn(), options(), now_ + hours(2)), 1);
  EXPECT_FALSE(exists("stale.sql.zst"));
  EXPECT_TRUE(exists("kept.sql.zst"));
}

// A live backup's folder is a link being re-pointed ("current" -> a release
// folder not there yet): stat says ENOENT, yet the file is there under the
// folder the sweep walks. That is "cannot be checked", not "gone".
TEST_F(RetentionTest, ALiveBackupBehindADanglingFolderLinkIsNeverTakenForAnOrphan) {
  fs::create_directories(storage_ + "/acme/2024");
  std::ofstream(storage_ + "/acme/2024/live.sql.zst") << "a live backup";
  fs::create_directory_symlink("2025", storage_ + "/acme/current");  // dangling meanwhile
  backup_row("acme/current/live.sql.zst", now_ + hours(24), now_);
  EXPECT_THROW(remove_orphan_files(db_.conn(), options(), now_ + hours(2)), Error);
  RetentionSweeper sweeper(db_.conninfo(), options());
  EXPECT_EQ(sweeper.run_once(now_ + hours(2)).orphans_removed, 0);
  EXPECT_TRUE(exists("2024/live.sql.zst"));
  // The link points at its folder again: the file is referenced and kept.
  fs::remove(storage_ + "/acme/current");
  fs::create_directory_symlink("2024", storage_ + "/acme/current");
  EXPECT_EQ(remove_orphan_files(db_.conn(), options(), now_ + hours(2)), 0);
  EXPECT_TRUE(exists("2024/live.sql.zst"));
}

// A backup whose whole folder was removed is gone for sure: the sweep goes on.
TEST_F(RetentionTest, ABackupWhoseFolderIsGoneDoesNotStopTheSweep) {
  backup("kept.sql.zst", now_ + hours(24));
  std::ofstream(storage_ + "/acme/stale.sql.zst") << "an orphan";
  backup_row("acme/removed/x.sql.zst", now_ + hours(24), now_);
  EXPECT_EQ(remove_orphan_files(db_.conn(), options(), now_ + hours(2)), 1);
  EXPECT_FALSE(exists("stale.sql.zst"));
  EXPECT_TRUE(exists("kept.sql.zst"));
}

TEST_F(RetentionTest, OldPreRestoreSchemasAreDroppedNewerOnesKept) {
  auto day = [](SystemTime t) {
    auto s = format_rfc3339(t);  // 2026-03-04T10:00:00.000Z -> 20260304T100000Z
    std::string out;
    for (char c : s.substr(0, 19)) {
      if (c != '-' && c != ':') out += c;
    }
    return out + "Z";
  };
  auto old_name = "tenant_acme__pre_restore_" + day(now_ - hours(24 * 8));
  auto new_name = "tenant_acme__pre_restore_" + day(now_ - hours(24 * 6));
  for (const auto& s : {std::string("tenant_acme"), old_name, new_name,
                        std::string("tenant_acme__pre_restore_garbage")}) {
    db_.conn().exec("CREATE SCHEMA \"" + s + "\"");
    db_.conn().exec("CREATE TABLE \"" + s + "\".t (x int)");
  }
  EXPECT_EQ(drop_old_pre_restore_schemas(db_.conn(), now_, hours(24 * 7)), 1);
  auto left = PgCluster::shared().query_column(
      db_.name(), "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant%' ORDER BY 1");
  std::vector<std::string> want{"tenant_acme", new_name, "tenant_acme__pre_restore_garbage"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want);
  EXPECT_EQ(pre_restore_schema_time("tenant_x__pre_restore_20261124T100000Z"),
            SystemTime{sys_days{year{2026} / 11 / 24}} + hours(10));
  EXPECT_EQ(pre_restore_schema_time("tenant_x__pre_restore_1700000000"),
            SystemTime{seconds(1700000000)});
  EXPECT_EQ(pre_restore_schema_time("tenant_x__pre_restore_20261324T100000Z"), std::nullopt);
  EXPECT_EQ(pre_restore_schema_time("public"), std::nullopt);
}

// A slug ending like a set-aside schema's name ("__pre_restore_<time>") is
// refused now; a project that got one before that rule keeps its live schema
// through every sweep, while real set-aside schemas of known projects (the
// long-name form included) are still dropped, and a look-alike of no project
// is left alone.
TEST_F(RetentionTest, ALiveSchemaThatLooksSetAsideSurvivesTheSweep) {
  try {
    store::upsert_project(db_.conn(), "mimic", "acme__pre_restore_20200101_000000");
    ADD_FAILURE() << "a slug ending like a set-aside schema was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation);
    EXPECT_EQ(e.field(), "slug");
  }
  EXPECT_THROW(
      db_.conn().exec(
          "INSERT INTO control_plane.projects (id, slug) VALUES ('mimic', 'x__pre_restore_1')"),
      db::DbError);

  // As if created before the rule existed.
  db_.conn().exec(
      "ALTER TABLE control_plane.projects DROP CONSTRAINT IF EXISTS projects_slug_not_aside");
  db_.conn().exec(
      "INSERT INTO control_plane.projects (id, slug) VALUES ('mimic', "
      "'acme__pre_restore_20200101_000000')");
  const std::string long_slug(40, 'l');
  store::upsert_project(db_.conn(), "long", long_slug);
  const std::string live = "tenant_acme__pre_restore_20200101_000000";
  const std::string acme_aside = backup::aside_schema_name("tenant_acme", now_ - hours(24 * 30));
  const std::string long_aside =
      backup::aside_schema_name("tenant_" + long_slug, now_ - hours(24 * 30));
  const std::string stranger = "tenant_gone__pre_restore_20200101_000000";  // no such project
  for (const auto& s : {live, acme_aside, long_aside, stranger}) {
    db_.conn().exec("CREATE SCHEMA \"" + s + "\"");
    db_.conn().exec("CREATE TABLE \"" + s + "\".t (x int)");
  }
  EXPECT_EQ(drop_old_pre_restore_schemas(db_.conn(), now_, hours(24 * 7)), 2);
  auto left = PgCluster::shared().query_column(
      db_.name(), "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant%' ORDER BY 1");
  std::vector<std::string> want{live, stranger};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want);
}

TEST_F(RetentionTest, ExpiryNoticeArrivesOnceWithDownloadLinks) {
  tb::test::SmtpServer smtp;
  smtp.start();
  store::BackupSettings s;
  s.project_id = "acme";
  s.notify_email = "owner@example.com";
  store::put_backup_settings(db_.conn(), s);
  auto soon = backup("soon.sql.zst", now_ + hours(48));
  auto later = backup("later.sql.zst", now_ + hours(24 * 10));
  auto opts = options();
  opts.smtp_url = smtp.url();
  RetentionSweeper sweeper(db_.conninfo(), opts);
  EXPECT_EQ(sweeper.run_once(now_).notices_sent, 1);
  EXPECT_EQ(sweeper.run_once(now_ + minutes(5)).notices_sent, 0);
  EXPECT_EQ(send_expiry_notices(db_.conn(), opts, now_ + hours(1)), 0);
  auto mails = smtp.wait_for_emails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].rcpt_to, std::vector<std::string>{"owner@example.com"});
  EXPECT_NE(mails[0].raw.find("https://backups.example.com/api/backups/" + soon.id + "/download"),
            std::string::npos);
  EXPECT_EQ(mails[0].raw.find(later.id), std::string::npos);
  EXPECT_NE(mails[0].raw.find("apply_to_existing"), std::string::npos);
  EXPECT_THROW(smtp.wait_for_emails(2, milliseconds(500)), std::exception);
  // Later, the other backup enters the window: one more notice, for it only.
  EXPECT_EQ(send_expiry_notices(db_.conn(), opts, now_ + hours(24 * 8)), 1);
  auto two = smtp.wait_for_emails(2);
  EXPECT_NE(two[1].raw.find(later.id), std::string::npos);
  EXPECT_EQ(two[1].raw.find(soon.id), std::string::npos);
}

TEST_F(RetentionTest, NoSmtpNoNoticeAndNothingClaimed) {
  store::BackupSettings s;
  s.project_id = "acme";
  s.notify_email = "owner@example.com";
  store::put_backup_settings(db_.conn(), s);
  auto soon = backup("soon.sql.zst", now_ + hours(48));
  EXPECT_EQ(send_expiry_notices(db_.conn(), options(), now_), 0);
  EXPECT_EQ(PgCluster::shared().query_value(db_.name(),
                                            "SELECT count(*) FROM control_plane.backups "
                                            "WHERE expiry_notice_for IS NOT NULL"),
            "0");
  // An unreachable relay: the claim is released for the next sweep.
  auto opts = options();
  opts.smtp_url = "smtp://127.0.0.1:1";
  EXPECT_EQ(send_expiry_notices(db_.conn(), opts, now_), 0);
  EXPECT_EQ(PgCluster::shared().query_value(db_.name(),
                                            "SELECT count(*) FROM control_plane.backups "
                                            "WHERE expiry_notice_for IS NOT NULL"),
            "0");
}

TEST_F(RetentionTest, RetentionAppliedToExistingBackupsRecomputesExpiry) {
  auto created = now_ - hours(24 * 5);
  auto b = backup("a.sql.zst", created + hours(24 * 30), created);
  store::Backup gone = backup("b.sql.zst", now_ + hours(24), created);
  ASSERT_TRUE(store::mark_backup_deleted(db_.conn(), gone.id));
  EXPECT_EQ(apply_retention_to_existing(db_.conn(), "acme", 3), 1);  // deleted rows untouched
  EXPECT_EQ(store::get_backup(db_.conn(), b.id)->expires_at, created + hours(24 * 3));
  // Now past its new expiry: the next sweep expires it.
  RetentionSweeper sweeper(db_.conninfo(), options());
  EXPECT_EQ(sweeper.run_once(now_).expired, 1);
  EXPECT_FALSE(exists("a.sql.zst"));
}

TEST_F(RetentionTest, RemoteCopiesHookRunsAfterTheRowIsExpired) {
  auto old = backup("old.sql.zst", now_ - hours(1));
  auto opts = options();
  std::vector<std::string> seen;
  opts.delete_remote_copies = [&](db::Connection& c, const store::Backup& b) {
    seen.push_back(std::string(model::to_string(store::get_backup(c, b.id)->status)));
    throw std::runtime_error("telegram said no");  // logged; the expiry stands
  };
  EXPECT_EQ(expire_backups(db_.conn(), opts, now_), 1);
  EXPECT_EQ(seen, std::vector<std::string>{"expired"});
  EXPECT_EQ(status(old.id), "expired");
}

TEST_F(RetentionTest, MetricsRenderTheThreeFamilies) {
  store::upsert_project(db_.conn(), "beta", "beta");
  backup("a.sql.zst", now_ + hours(24), now_ - seconds(120));
  backup("b.sql.zst", now_ + hours(24), now_ - seconds(600));
  auto expired = backup("c.sql.zst", now_ - hours(1), now_ - hours(24 * 40));
  ASSERT_TRUE(store::mark_backup_expired(db_.conn(), expired.id));
  db::Pool pool(db_.conninfo(), 1);
  metrics::Registry registry;
  ManualClock clock(now_);
  schedule::register_lifecycle_metrics(registry, pool, clock);
  auto text = registry.render();
  EXPECT_NE(text.find("# TYPE tb_backups gauge"), std::string::npos) << text;
  EXPECT_NE(text.find("tb_backups{status=\"completed\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("tb_backups{status=\"expired\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("tb_backups{status=\"failed\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("tb_backup_bytes{project=\"acme\"} 4096"), std::string::npos) << text;
  EXPECT_NE(text.find("tb_last_successful_backup_age_seconds{project=\"acme\"} 120"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("project=\"beta\""), std::string::npos) << text;  // no backups, no series
}

}  // namespace
}  // namespace tb::workflows
