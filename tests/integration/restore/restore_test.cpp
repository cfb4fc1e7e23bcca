// backup::run_restore against a real cluster with the real pg_dump, psql and
// pg_restore: a backup made by run_export is restored over changed data for
// every format × compression (the data equals the backup again, the changed
// data sits in the set-aside schema); a damaged file, a dump that strays
// outside its schema, a dump cut inside a COPY, a cancelled and a killed
// replay all leave the schema exactly as it was.
#include "restore_fixture.hpp"
#include "support/format_combos.hpp"

namespace tb::backup {
namespace {

using Combo = test::FormatCombo;

class RestoreRoundTrip : public RestoreTest, public ::testing::WithParamInterface<Combo> {};

TEST_P(RestoreRoundTrip, BringsBackTheBackupAndKeepsTheChangedSchemaAside) {
  auto [format, compression] = GetParam();
  auto& pg = PgCluster::shared();
  const std::string at_backup = digest("tenant_acme");
  auto file = make_backup(format, compression);
  pg.exec(db_, kChange);
  const std::string changed = digest("tenant_acme");
  ASSERT_NE(changed, at_backup);

  std::uint64_t last_progress = 0;
  RestoreOptions options;
  options.format = format;
  options.compression = compression;
  options.expected_sha256 = file.second;
  std::atomic<bool> cancel{false};
  auto r = run_restore(
      target(), file.first, options, [&](std::uint64_t n) { last_progress = n; }, cancel);

  EXPECT_EQ(digest("tenant_acme"), at_backup);
  EXPECT_EQ(r.file_bytes, fs::file_size(file.first));
  EXPECT_EQ(last_progress, r.file_bytes);
  EXPECT_GT(r.sql_bytes, 0u);
  const std::string aside =
      aside_schema_name("tenant_acme", SystemTime{std::chrono::seconds(1795600000)});
  EXPECT_EQ(aside, "tenant_acme__pre_restore_20261125_094640");
  ASSERT_EQ(aside_schemas(), std::vector<std::string>{aside});
  // The set-aside schema is the changed one, untouched (digest names the schema).
  std::string aside_digest = digest(aside);
  EXPECT_EQ(aside_digest, changed);
  // Views, functions and comments came back; the platform's table was not touched.
  EXPECT_EQ(pg.query_value(db_, "SELECT count(*) FROM tenant_acme.named"), "9");
  EXPECT_EQ(pg.query_value(db_, "SELECT tenant_acme.greet('x')"), "hi x");
  EXPECT_EQ(pg.query_value(db_, "SELECT obj_description('tenant_acme.customers'::regclass)"),
            "the customers");
  EXPECT_EQ(pg.query_value(db_, "SELECT x FROM public.platform"), "42");
  // The view in the restored schema reads the restored table, not the aside one.
  EXPECT_EQ(pg.query_value(db_, "SELECT count(*) FROM tenant_acme.named WHERE name = 'changed'"),
            "0");
  // The schema was the superuser's (the service's): the restored objects go
  // to the project's own unprivileged role, never to a superuser.
  EXPECT_EQ(pg.query_value(
                db_,
                "SELECT string_agg(DISTINCT r.rolname || ':' || r.rolsuper, ',') FROM pg_class c "
                "JOIN pg_roles r ON r.oid = c.relowner WHERE c.relnamespace = "
                "'tenant_acme'::regnamespace"),
            "tb_owner_acme:false");
  EXPECT_EQ(
      pg.query_value(
          db_, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'tenant_acme'"),
      "tb_owner_acme");
  EXPECT_EQ(
      pg.query_value(
          db_,
          "SELECT proowner::regrole::text FROM pg_proc WHERE oid = 'tenant_acme.greet'::regproc"),
      "tb_owner_acme");
  // The replay login can log in only while a restore runs.
  EXPECT_EQ(
      pg.query_value(db_, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tb_replay_acme'"),
      "t");
  retire_replay_identity(*service_, target().identity);
  EXPECT_EQ(
      pg.query_value(db_, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tb_replay_acme'"),
      "f");
}

INSTANTIATE_TEST_SUITE_P(AllFormats, RestoreRoundTrip, test::all_format_combos(),
                         test::format_combo_name);

TEST_F(RestoreTest, IntoAMissingSchemaSetsNothingAside) {
  const std::string at_backup = digest("tenant_acme");
  auto file = make_backup(Format::kSql, Compression::kZstd);
  PgCluster::shared().exec(db_, "DROP SCHEMA tenant_acme CASCADE");
  restore(file, Format::kSql, Compression::kZstd);
  EXPECT_EQ(digest("tenant_acme"), at_backup);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(RestoreTest, ADamagedFileIsRefusedBeforeAnythingRuns) {
  auto file = make_backup(Format::kSql, Compression::kZstd);
  PgCluster::shared().exec(db_, kChange);
  const std::string changed = digest("tenant_acme");
  {
    std::fstream f(file.first, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(100);
    f.write(&c, 1);
  }
  EXPECT_THROW(restore(file, Format::kSql, Compression::kZstd), ChecksumMismatch);
  EXPECT_EQ(digest("tenant_acme"), changed);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(RestoreTest, ADumpThatCreatesATableInAnotherSchemaIsRolledBack) {
  const std::string before = digest("tenant_acme");
  // The replay may create schemas (it creates its own), so privilege does not
  // stop this one: the guard does.
  auto file = write_sql(
      "CREATE SCHEMA tenant_acme;\nCREATE TABLE tenant_acme.t (x int);\n"
      "CREATE SCHEMA elsewhere;\nCREATE TABLE elsewhere.evil (x int);\n");
  try {
    restore(file);
    FAIL() << "restored";
  } catch (const OutsideSchema& e) {
    EXPECT_NE(e.message().find("outside schema tenant_acme"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("elsewhere.evil"), std::string::npos) << e.message();
  }
  EXPECT_EQ(PgCluster::shared().query_value(db_, "SELECT to_regnamespace('elsewhere') IS NULL"),
            "t");
  EXPECT_EQ(digest("tenant_acme"), before);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(RestoreTest, ADumpThatTouchesExistingObjectsElsewhereIsRolledBack) {
  const std::string before = digest("tenant_acme");
  // Refused by privilege: the replay runs as the tenant, not as the service.
  for (const std::string& bad :
       {std::string("INSERT INTO public.platform VALUES (1);\n"),
        std::string("ALTER TABLE public.platform ADD COLUMN y int;\n"),
        std::string("DROP TABLE public.platform;\n"), std::string("CREATE ROLE tb_evil_role;\n"),
        std::string("CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n"),
        std::string("UPDATE control_plane.replay_logins SET schema_name = 'tenant_other';\n"),
        std::string(
            "DO $$ BEGIN EXECUTE format('GRANT %I TO pg_monitor', current_user); END $$;\n"),
        std::string(
            "DO $$ BEGIN EXECUTE format('COMMENT ON ROLE %I IS %L', current_user, 'x'); END $$;\n"),
        // The set-aside schema is not the dump's to change either.
        std::string("DROP TABLE tenant_acme__pre_restore_20261125_094640.customers CASCADE;\n")}) {
    auto file = write_sql("CREATE SCHEMA tenant_acme;\n" + bad);
    try {
      restore(file);
      ADD_FAILURE() << "restored: " << bad;
    } catch (const Error& e) {
      const bool refused = e.message().find("permission denied") != std::string::npos ||
                           e.message().find("must be owner") != std::string::npos ||
                           e.message().find("must have") != std::string::npos;
      EXPECT_TRUE(refused) << bad << " → " << e.message();
    }
    EXPECT_EQ(digest("tenant_acme"), before) << bad;
    EXPECT_TRUE(aside_schemas().empty()) << bad;
  }
  // What privilege allows the tenant but is not the schema's: the guard.
  for (const std::string& bad : {std::string("ALTER ROLE CURRENT_USER SET work_mem = '8MB';\n")}) {
    auto file = write_sql("CREATE SCHEMA tenant_acme;\n" + bad);
    EXPECT_THROW(restore(file), OutsideSchema) << bad;
    EXPECT_EQ(digest("tenant_acme"), before) << bad;
    EXPECT_TRUE(aside_schemas().empty()) << bad;
  }
  auto& pg = PgCluster::shared();
  EXPECT_EQ(pg.query_value(db_,
                           "SELECT string_agg(attname, ',') FROM pg_attribute WHERE attrelid = "
                           "'public.platform'::regclass AND attnum > 0"),
            "x");
  EXPECT_EQ(pg.query_value(db_, "SELECT count(*) FROM pg_roles WHERE rolname = 'tb_evil_role'"),
            "0");
}

TEST_F(RestoreTest, ADumpWithoutTheSchemaIsRefused) {
  const std::string before = digest("tenant_acme");
  auto file = write_sql("SELECT 1;\n");
  EXPECT_THROW(restore(file), OutsideSchema);
  EXPECT_EQ(digest("tenant_acme"), before);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(RestoreTest, ADumpCutInsideACopyNeverCommits) {
  const std::string before = digest("tenant_acme");
  auto file = write_sql(
      "CREATE SCHEMA tenant_acme;\nCREATE TABLE tenant_acme.t (x text);\nCOPY tenant_acme.t FROM "
      "stdin;\n1\n");
  EXPECT_THROW(restore(file), Error);
  EXPECT_EQ(digest("tenant_acme"), before);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(RestoreTest, AFailingStatementRollsEverythingBack) {
  const std::string before = digest("tenant_acme");
  auto file =
      write_sql("CREATE SCHEMA tenant_acme;\nCREATE TABLE tenant_acme.t (x int);\nSELECT 1/0;\n");
  try {
    restore(file);
    FAIL() << "restored";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("division by zero"), std::string::npos) << e.message();
  }
  EXPECT_EQ(digest("tenant_acme"), before);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(RestoreTest, TheCallersCommitPreconditionDecidesTheCommit) {
  auto file = make_backup(Format::kSql, Compression::kZstd);
  const std::string backed_up = digest("tenant_acme");
  PgCluster::shared().exec(
      db_, "INSERT INTO tenant_acme.customers (id, name) VALUES (999999, 'after the backup')");
  const std::string changed = digest("tenant_acme");
  static const std::atomic<bool> never{false};
  RestoreOptions options;
  options.compression = Compression::kZstd;
  options.expected_sha256 = file.second;
  // The precondition runs in the replay's session: the table is readable there.
  PgCluster::shared().exec(
      db_, "CREATE TABLE public.lease (ok boolean); GRANT ALL ON public.lease TO PUBLIC");
  PgCluster::shared().exec(db_, "INSERT INTO public.lease VALUES (false)");
  auto t = target();
  t.commit_precondition =
      "PERFORM 1 FROM public.lease WHERE ok FOR SHARE;\n"
      "IF NOT FOUND THEN RAISE EXCEPTION 'lease ran out'; END IF;";
  try {
    run_restore(t, file.first, options, {}, never);
    FAIL() << "restored without its precondition";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("lease ran out"), std::string::npos) << e.message();
  }
  EXPECT_EQ(digest("tenant_acme"), changed);  // rolled back: nothing replaced
  EXPECT_TRUE(aside_schemas().empty());

  PgCluster::shared().exec(db_, "UPDATE public.lease SET ok = true");
  run_restore(t, file.first, options, {}, never);
  EXPECT_EQ(digest("tenant_acme"), backed_up);  // the backup's rows are back
  EXPECT_EQ(aside_schemas().size(), 1u);
}

// The replay's backend while it runs `pg_sleep(600)`: polled, so a busy
// machine only makes the wait longer, never the test wrong.
constexpr const char* kSleepingReplay =
    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> "
    "pg_backend_pid()";

bool wait_until(const std::function<bool()>& done) {
  for (auto until = std::chrono::steady_clock::now() + std::chrono::minutes(5);
       std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    if (done()) return true;
  }
  return false;
}

TEST_F(RestoreTest, CancelKillsPsqlAndRollsBack) {
  const std::string before = digest("tenant_acme");
  auto file = write_sql(
      "CREATE SCHEMA tenant_acme;\nCREATE TABLE tenant_acme.t (x int);\nSELECT pg_sleep(600);\n");
  auto& pg = PgCluster::shared();
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    wait_until([&] { return pg.query_value(db_, kSleepingReplay) != "0"; });
    cancel = true;
  });
  // Without the kill, the restore would sit in pg_sleep for ten minutes.
  EXPECT_THROW(restore(file, Format::kSql, Compression::kNone, &cancel), Cancelled);
  canceller.join();
  // The server notices the lost client at its next check; wait for the backend to go.
  EXPECT_TRUE(wait_until([&] {
    pg.exec(
        db_,
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' "
        "AND pid <> pg_backend_pid()");
    return pg.query_value(db_, kSleepingReplay) == "0";
  }));
  EXPECT_EQ(digest("tenant_acme"), before);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST_F(RestoreTest, AReplayKilledMidwayLeavesTheSchemaAsItWas) {
  const std::string before = digest("tenant_acme");
  auto file = write_sql(
      "CREATE SCHEMA tenant_acme;\nCREATE TABLE tenant_acme.t (x int);\nSELECT pg_sleep(600);\n");
  auto& pg = PgCluster::shared();
  std::thread killer([&] {
    wait_until([&] {
      return pg.query_value(
                 db_,
                 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE "
                 "'%pg_sleep(600)%' AND pid <> pg_backend_pid()") != "0";
    });
  });
  EXPECT_THROW(restore(file), Error);
  killer.join();
  EXPECT_EQ(digest("tenant_acme"), before);
  EXPECT_TRUE(aside_schemas().empty());
}

TEST(AsideSchemaName, FitsPostgresIdentifierLimit) {
  SystemTime at{std::chrono::seconds(1795600000)};
  EXPECT_EQ(aside_schema_name("tenant_a", at), "tenant_a__pre_restore_20261125_094640");
  std::string long1 = "tenant_" + std::string(56, 'a');
  std::string long2 = "tenant_" + std::string(55, 'a') + "b";
  auto n1 = aside_schema_name(long1, at);
  auto n2 = aside_schema_name(long2, at);
  EXPECT_LE(n1.size(), 63u);
  EXPECT_NE(n1, n2);
  EXPECT_NE(n1.find("__pre_restore_20261125_094640"), std::string::npos);
}

}  // namespace
}  // namespace tb::backup
