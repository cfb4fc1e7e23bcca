// Projects, backups (keyset pagination), settings and audit against a real database.
#include <gtest/gtest.h>

#include <set>

#include "core/ids.hpp"
#include "fixture.hpp"
#include "store/audit.hpp"
#include "store/backups.hpp"
#include "store/settings.hpp"

namespace tb::store::testing {
namespace {

using namespace std::chrono_literals;

using Store = StoreTest;

TEST_F(Store, ProjectsGetUpsertList) {
  EXPECT_FALSE(get_project(conn(), "nope").has_value());
  auto p = get_project(conn(), "p1");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->slug, "p1");
  EXPECT_EQ(p->schema(), "tenant_p1");
  upsert_project(conn(), "Acme-2", "acme_2", "Acme");
  upsert_project(conn(), "p1", "p1", "Renamed");
  auto all = list_projects(conn());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].name, "Renamed");
  // Slugs become schema names: the database refuses unsafe ones.
  EXPECT_THROW(upsert_project(conn(), "x", "x\"; drop", "bad"), db::DbError);
}

TEST_F(Store, BackupInsertGetAndJson) {
  Backup b;
  b.project_id = "p1";
  b.size_bytes = 1234;
  b.sha256 = std::string(64, 'a');
  b.locations =
      boost::json::array{boost::json::object{{"type", "local"}, {"path", "p1/x.sql.zst"}}};
  auto stored = insert_backup(conn(), b);
  EXPECT_TRUE(is_uuid(stored.id));
  ASSERT_TRUE(stored.created_at.has_value());
  auto got = get_backup(conn(), stored.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size_bytes, 1234);
  EXPECT_EQ(got->status, model::BackupStatus::kCompleted);
  auto j = to_json(*got);
  EXPECT_EQ(j.at("locations").as_array()[0].at("path").as_string(), "p1/x.sql.zst");
  EXPECT_EQ(j.at("format").as_string(), "sql");
  EXPECT_TRUE(j.at("job_id").is_null());
  EXPECT_TRUE(j.at("created_at").as_string().ends_with("Z"));
  EXPECT_FALSE(get_backup(conn(), "not-a-uuid").has_value());
  EXPECT_FALSE(get_backup(conn(), tb::new_uuid()).has_value());
}

TEST_F(Store, KeysetPaginationOverEqualTimestampsVisitsEveryRowOnce) {
  auto t = conn().exec("SELECT now()").time(0, 0);
  std::set<std::string> inserted;
  for (int i = 0; i < 25; ++i) {
    Backup b;
    b.project_id = "p1";
    b.created_at = t;  // all equal: the id breaks ties
    inserted.insert(insert_backup(conn(), b).id);
  }
  Backup newer;
  newer.project_id = "p1";
  newer.created_at = t + 1s;
  auto newest = insert_backup(conn(), newer).id;
  upsert_project(conn(), "p2", "p2");
  Backup other;
  other.project_id = "p2";
  insert_backup(conn(), other);

  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    auto page = list_backups(conn(), "p1", 10, cursor);
    for (const auto& b : page.items) seen.push_back(b.id);
    cursor = page.next_cursor;
    ++pages;
    ASSERT_LT(pages, 10);
  } while (cursor);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 26u);
  EXPECT_EQ(seen.front(), newest);
  std::set<std::string> unique(seen.begin() + 1, seen.end());
  EXPECT_EQ(unique, inserted);
  // Within equal timestamps: id descending.
  EXPECT_TRUE(std::is_sorted(seen.begin() + 1, seen.end(), std::greater<>()));
}

TEST_F(Store, PaginationSkipsDeletedAndRefusesForgedCursors) {
  Backup b;
  b.project_id = "p1";
  auto a = insert_backup(conn(), b);
  auto c = insert_backup(conn(), b);
  EXPECT_TRUE(mark_backup_deleted(conn(), a.id));
  EXPECT_FALSE(mark_backup_deleted(conn(), a.id));
  auto page = list_backups(conn(), "p1", 10);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].id, c.id);
  EXPECT_FALSE(page.next_cursor.has_value());
  for (std::string bad : {"!!!", "bm90IGEgY3Vyc29y", "MTIzfG5vdC1hLXV1aWQ"}) {
    try {
      list_backups(conn(), "p1", 10, bad);
      FAIL() << bad;
    } catch (const tb::Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kValidation);
      EXPECT_EQ(e.field(), "cursor");
    }
  }
}

TEST_F(Store, ExpiredBackupsAreListedAndMarked) {
  auto now = conn().exec("SELECT now()").time(0, 0);
  Backup old_one;
  old_one.project_id = "p1";
  old_one.expires_at = now - 1h;
  Backup fresh = old_one;
  fresh.expires_at = now + 24h;
  auto o = insert_backup(conn(), old_one);
  insert_backup(conn(), fresh);
  auto expired = list_expired_backups(conn(), now);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, o.id);
  EXPECT_TRUE(mark_backup_expired(conn(), o.id));
  EXPECT_FALSE(mark_backup_expired(conn(), o.id));
  EXPECT_TRUE(list_expired_backups(conn(), now).empty());
  EXPECT_EQ(get_backup(conn(), o.id)->status, model::BackupStatus::kExpired);
}

TEST_F(Store, SettingsDefaultThenUpsert) {
  auto d = get_backup_settings(conn(), "p1");
  EXPECT_EQ(d.retention_days, 30);
  EXPECT_EQ(d.destinations, std::vector<std::string>{"local"});
  EXPECT_EQ(d.format, "sql");
  EXPECT_EQ(d.compression, "zstd");
  EXPECT_EQ(d.schedule, "off");
  EXPECT_FALSE(d.updated_at.has_value());
  d.retention_days = 7;
  d.destinations = {"local", "telegram"};
  d.telegram_chat_id = "-100123";
  d.schedule = "daily 03:00";
  put_backup_settings(conn(), d);
  d.compression = "gzip";
  put_backup_settings(conn(), d);
  auto s = get_backup_settings(conn(), "p1");
  EXPECT_EQ(s.retention_days, 7);
  EXPECT_EQ(s.destinations, (std::vector<std::string>{"local", "telegram"}));
  EXPECT_EQ(s.compression, "gzip");
  EXPECT_EQ(s.telegram_chat_id, "-100123");
  EXPECT_TRUE(s.updated_at.has_value());
  EXPECT_EQ(list_scheduled_settings(conn()).size(), 1u);
  EXPECT_EQ(to_json(s).at("destinations").as_array().size(), 2u);
  d.retention_days = 0;
  EXPECT_THROW(put_backup_settings(conn(), d), db::DbError);
}

TEST_F(Store, AuditAppendsAndListsNewestFirst) {
  AuditEntry e;
  e.project_id = "p1";
  e.actor = "alice";
  e.action = "backup.export";
  e.ip = "127.0.0.1";
  e.outcome = "accepted";
  e.detail = {{"format", "sql"}};
  append_audit(conn(), e);
  e.action = "backup.delete";
  auto id2 = append_audit(conn(), e);
  e.project_id = "other";
  append_audit(conn(), e);
  auto list = list_audit(conn(), "p1");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, id2);
  EXPECT_EQ(list[0].action, "backup.delete");
  EXPECT_EQ(list[1].detail.at("format").as_string(), "sql");
  EXPECT_EQ(to_json(list[0]).at("actor").as_string(), "alice");
}

}  // namespace
}  // namespace tb::store::testing
