// The export against a real cluster: dump a tenant schema full of tricky
// identifiers and types with the real pg_dump, decompress with the real
// zstd/gzip CLIs, restore into a fresh database with the real psql /
// pg_restore and compare every table; decoy schemas must stay out; failures
// (missing schema, killed pg_dump, cancel, a destination failing at its Nth
// write) leave no file.
#include "backup/export.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "destinations/local.hpp"
#include "support/format_combos.hpp"
#include "support/pg_cluster.hpp"

namespace tb::backup {
namespace {

namespace fs = std::filesystem;
using tb::test::PgCluster;
using tb::test::run_command;

const char* kSeed = R"SQL(
CREATE SCHEMA tenant_acme;
SET search_path = tenant_acme;
CREATE TABLE "Mixed Case" (id serial PRIMARY KEY, "select" text, "Quote""d" int);
INSERT INTO "Mixed Case" ("select", "Quote""d") VALUES
  ('Zürich 東京 🚀', 1), (NULL, NULL), (E'line\nbreak\ttab \\ back', 3), ('O''Brien "quoted"', 4);
CREATE TABLE customers (
  id bigint PRIMARY KEY, name text NOT NULL, data jsonb, tags text[], balance numeric(30,10),
  created timestamptz, photo bytea, mixed_id int REFERENCES "Mixed Case"(id));
INSERT INTO customers
  SELECT g, 'customer ' || g || ' ünïcödé', jsonb_build_object('k', g, 'nested', jsonb_build_array(g, 'x', NULL)),
         ARRAY['a' || g, NULL, 'with,comma', 'with "quote"'], g * 1234.5678901234 - 99999,
         timestamptz '2026-01-01 00:00:00+00' + g * interval '17 minutes 3.25 seconds',
         decode(md5(g::text), 'hex'), CASE WHEN g % 4 = 0 THEN NULL ELSE 1 + g % 4 END
  FROM generate_series(1, 3000) g;
INSERT INTO customers (id, name) VALUES (-1, '');
CREATE SEQUENCE invoice_seq START 1000;
SELECT setval('invoice_seq', 1234);
CREATE TABLE orders (id int PRIMARY KEY, customer_id bigint REFERENCES customers(id), amount numeric,
                     note text DEFAULT 'n/a');
INSERT INTO orders SELECT g, 1 + g % 3000, g * 1.5, repeat('order note ', g % 7) FROM generate_series(1, 20000) g;
CREATE VIEW big_spenders AS SELECT c.name, sum(o.amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name;
CREATE FUNCTION greet(n text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'hi ' || n $$;
CREATE SCHEMA tenant_acme2;
CREATE TABLE tenant_acme2.decoy_lower (x int);
INSERT INTO tenant_acme2.decoy_lower VALUES (1);
CREATE SCHEMA "Tenant_ACME";
CREATE TABLE "Tenant_ACME".decoy_upper (x int);
CREATE SCHEMA tenantxacme;
CREATE TABLE tenantxacme.decoy_underscore (x int);
)SQL";

const std::vector<std::string> kTables = {"\"Mixed Case\"", "customers", "orders"};

class ExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new std::string(PgCluster::shared().create_database("export_src"));
    PgCluster::shared().exec(*db_, kSeed);
  }
  static void TearDownTestSuite() {
    PgCluster::shared().drop_database(*db_);
    delete db_;
  }

  void SetUp() override { storage_ = tb::test::make_temp_dir("tb-export-storage"); }
  void TearDown() override { fs::remove_all(storage_); }

  DumpSource source(const std::string& schema = "tenant_acme") const {
    return {PgCluster::shared().bin_dir(), PgCluster::shared().conninfo(*db_), schema};
  }

  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(storage_)) {
      if (!e.is_directory()) out.push_back(fs::relative(e.path(), storage_).string());
    }
    return out;
  }

  static std::string table_digest(const std::string& db, const std::string& table) {
    return PgCluster::shared().query_value(
        db,
        "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') "
        "FROM tenant_acme." +
            table + " t");
  }

  static std::string* db_;
  std::string storage_;
};

std::string* ExportTest::db_ = nullptr;

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

std::string load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

using Combo = test::FormatCombo;

class ExportRoundTrip : public ExportTest, public ::testing::WithParamInterface<Combo> {};

TEST_P(ExportRoundTrip, RestoresIntoAFreshDatabaseWithIdenticalData) {
  auto [format, compression] = GetParam();
  auto& pg = PgCluster::shared();
  destinations::LocalDestination local(storage_, "acme");
  std::string name =
      file_name_for("acme", SystemTime{std::chrono::seconds(1795514400)}, format, compression);
  std::vector<std::uint64_t> progress;
  std::atomic<bool> cancel{false};
  ExportOptions options;
  options.format = format;
  options.compression = compression;
  ExportResult r = run_export(
      source(), options, {&local}, {"acme", name, content_type_for(format, compression)},
      [&](std::uint64_t n) { progress.push_back(n); }, cancel);

  // Exactly one file, under its final name, matching the recorded size and hash.
  ASSERT_EQ(files(), std::vector<std::string>{"acme/" + name});
  std::string path = storage_ + "/acme/" + name;
  EXPECT_EQ(r.locations.size(), 1u);
  EXPECT_EQ(r.locations[0].as_object().at("path").as_string(), "acme/" + name);
  EXPECT_EQ(fs::file_size(path), r.size_bytes);
  EXPECT_EQ(run_command("sha256sum " + quote(path)).substr(0, 64), r.sha256_hex);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), r.dump_bytes);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  if (compression == Compression::kNone) {
    EXPECT_EQ(r.size_bytes, r.dump_bytes);
  } else {
    EXPECT_LT(r.size_bytes, r.dump_bytes / 2);
  }

  // Decompress with the real tools.
  std::string work = tb::test::make_temp_dir("tb-export-work");
  std::string plain = work + "/dump";
  if (compression == Compression::kZstd)
    run_command("zstd -q -d " + quote(path) + " -o " + quote(plain));
  else if (compression == Compression::kGzip)
    run_command("gzip -d -c " + quote(path) + " > " + quote(plain));
  else
    fs::copy_file(path, plain);
  EXPECT_EQ(fs::file_size(plain), r.dump_bytes);
  std::string dump = load(plain);
  for (const char* decoy :
       {"decoy_lower", "decoy_upper", "decoy_underscore", "tenant_acme2", "Tenant_ACME"}) {
    EXPECT_EQ(dump.find(decoy), std::string::npos) << decoy;
  }

  // Restore into a fresh database with the real client tools.
  std::string fresh = pg.create_database("export_restore");
  std::string target = quote(pg.conninfo(fresh));
  if (format == Format::kSql) {
    run_command(pg.bin_dir() + "/psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d " + target +
                " -f " + quote(plain));
  } else {
    run_command(pg.bin_dir() + "/pg_restore --exit-on-error --single-transaction --no-owner -d " +
                target + " " + quote(plain));
  }
  for (const auto& t : kTables) EXPECT_EQ(table_digest(fresh, t), table_digest(*db_, t)) << t;
  EXPECT_EQ(pg.query_value(fresh, "SELECT tenant_acme.greet('x')"), "hi x");
  EXPECT_EQ(pg.query_value(fresh, "SELECT last_value FROM tenant_acme.invoice_seq"), "1234");
  EXPECT_EQ(pg.query_value(fresh, "SELECT count(*) FROM tenant_acme.big_spenders"),
            pg.query_value(*db_, "SELECT count(*) FROM tenant_acme.big_spenders"));
  const std::string constraints =
      "SELECT string_agg(conname || ':' || pg_get_constraintdef(oid), ';' ORDER BY conname) FROM "
      "pg_constraint "
      "WHERE connamespace = 'tenant_acme'::regnamespace";
  EXPECT_EQ(pg.query_value(fresh, constraints), pg.query_value(*db_, constraints));
  EXPECT_NE(pg.query_value(fresh, constraints).find("FOREIGN KEY (customer_id) REFERENCES"),
            std::string::npos);
  EXPECT_EQ(
      pg.query_value(fresh,
                     "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE "
                     "nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema'"),
      "public,tenant_acme");
  pg.drop_database(fresh);
  fs::remove_all(work);
}

INSTANTIATE_TEST_SUITE_P(Formats, ExportRoundTrip, test::all_format_combos(),
                         test::format_combo_name);

TEST_F(ExportTest, MissingSchemaFailsWithPgDumpsReasonAndNoFile) {
  destinations::LocalDestination local(storage_, "acme");
  std::atomic<bool> cancel{false};
  try {
    run_export(source("tenant_missing"), {}, {&local}, {"acme", "x.sql.zst", "application/zstd"},
               {}, cancel);
    FAIL() << "exported a missing schema";
  } catch (const tb::Error& e) {
    EXPECT_EQ(e.message().rfind("pg_dump failed: ", 0), 0u) << e.message();
    EXPECT_NE(e.message().find("no matching schemas were found"), std::string::npos) << e.message();
    // Not retried: the schema will not appear by trying again.
    EXPECT_EQ(e.code(), tb::ErrorCode::kNotFound);
    EXPECT_FALSE(tb::is_retryable(e.code()));
    EXPECT_NE(e.detail().find("exit code 1"), std::string::npos) << e.detail();
  }
  EXPECT_TRUE(files().empty());
}

TEST_F(ExportTest, SchemaNameIsMatchedExactlyNotAsAPattern) {
  // "tenant_acm?" and "TENANT_ACME" would match as patterns; exactly they do not exist.
  for (const char* schema : {"tenant_acm?", "TENANT_ACME", "tenant_acme*", "tenant.acme"}) {
    destinations::LocalDestination local(storage_, "acme");
    std::atomic<bool> cancel{false};
    EXPECT_THROW(
        run_export(source(schema), {}, {&local}, {"acme", "x.sql", "application/sql"}, {}, cancel),
        tb::Error)
        << schema;
  }
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(exact_schema_pattern("tenant_acme"), "\"tenant_acme\"");
  EXPECT_EQ(exact_schema_pattern("we\"ird"), "\"we\"\"ird\"");
}

TEST_F(ExportTest, PasswordNeverReachesTheCommandLineOrTheError) {
  auto cmd = pg_dump_command(
      {"/usr/bin", "host=/tmp port=5 user=u password='s3cr et' dbname=d", "tenant_acme"},
      Format::kSql);
  for (const auto& a : cmd.args) EXPECT_EQ(a.find("s3cr"), std::string::npos) << a;
  ASSERT_EQ(cmd.env.size(), 1u);
  EXPECT_EQ(cmd.env[0], (std::pair<std::string, std::string>{"PGPASSWORD", "s3cr et"}));
  auto url = pg_dump_command(
      {"", "postgresql://bob:p%40ss@localhost:5433/app?sslmode=disable", "tenant_acme"},
      Format::kTar);
  EXPECT_EQ(url.program, "pg_dump");
  EXPECT_EQ(url.env.at(0).second, "p@ss");
  for (const auto& a : url.args) EXPECT_EQ(a.find("p@ss"), std::string::npos) << a;
  EXPECT_NE(std::find(url.args.begin(), url.args.end(), "--format=tar"), url.args.end());

  // A connection failure reports pg_dump's reason without the password.
  destinations::LocalDestination local(storage_, "acme");
  std::atomic<bool> cancel{false};
  DumpSource bad = source();
  bad.conninfo = "host=" + storage_ + " port=1 user=postgres password=hunter2secret dbname=nope";
  try {
    run_export(bad, {}, {&local}, {"acme", "x.sql.zst", "application/zstd"}, {}, cancel);
    FAIL() << "connected to nothing";
  } catch (const tb::Error& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2secret"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find("could not connect"), std::string::npos) << e.message();
  }
  EXPECT_TRUE(files().empty());
}

class Big : public ExportTest {
 protected:
  static void SetUpTestSuite() {
    ExportTest::SetUpTestSuite();
    PgCluster::shared().exec(
        *db_,
        "CREATE TABLE tenant_acme.big AS SELECT g AS id, md5(g::text) || repeat('x', 200) AS v "
        "FROM generate_series(1, 150000) g");
  }
};

TEST_F(Big, PgDumpKilledMidwayLeavesNoFile) {
  destinations::LocalDestination local(storage_, "acme");
  std::atomic<bool> cancel{false};
  bool killed = false;
  auto on_progress = [&](std::uint64_t) {
    if (killed) return;
    killed = true;
    PgCluster::shared().exec("postgres",
                             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                             "application_name = 'pg_dump'");
  };
  try {
    run_export(source(), {}, {&local}, {"acme", "x.sql.zst", "application/zstd"}, on_progress,
               cancel);
    FAIL() << "survived a killed backend";
  } catch (const tb::Error& e) {
    EXPECT_EQ(e.message().rfind("pg_dump failed", 0), 0u) << e.message();
    EXPECT_NE(e.detail().find("exit code"), std::string::npos) << e.detail();
  }
  EXPECT_TRUE(killed);
  EXPECT_TRUE(files().empty());
}

TEST_F(Big, CancelStopsPgDumpAndKeepsNothing) {
  destinations::LocalDestination local(storage_, "acme");
  std::atomic<bool> cancel{false};
  int chunks =
      0;  // the ~36 MB dump is ~140 chunks: a cancel noticed only at the end would see them all
  EXPECT_THROW(run_export(
                   source(), {}, {&local}, {"acme", "x.sql.zst", "application/zstd"},
                   [&](std::uint64_t) {
                     ++chunks;
                     cancel = true;
                   },
                   cancel),
               Cancelled);
  EXPECT_LT(chunks, 64);
  EXPECT_TRUE(files().empty());
}

// A destination that fails its Nth write (Beast's fail_count), next to a real
// local destination: for every N, nothing is left under any name.
class FailingDestination final : public destinations::Destination {
 public:
  explicit FailingDestination(int fail_at) : fail_at_(fail_at) {}
  std::string name() const override { return "failing"; }
  void begin(const destinations::ObjectInfo&) override {}
  void write(std::span<const std::byte>) override {
    if (++writes_ == fail_at_) throw tb::Error(ErrorCode::kInternal, "injected write failure");
  }
  boost::json::object commit(const std::string&, std::uint64_t) override {
    if (fail_at_ == 0) return {{"type", "failing"}};
    throw tb::Error(ErrorCode::kInternal, "injected commit failure");
  }
  void abort() noexcept override { aborted_ = true; }
  int writes() const { return writes_; }
  bool aborted() const { return aborted_; }

 private:
  int fail_at_;
  int writes_ = 0;
  bool aborted_ = false;
};

TEST_F(ExportTest, DestinationFailingAtEveryWriteLeavesNoFile) {
  std::atomic<bool> cancel{false};
  ExportOptions options;
  options.compression = Compression::kGzip;  // 1 MiB members: a handful of writes
  int total_writes = 0;
  {
    FailingDestination counting(0);
    destinations::LocalDestination local(storage_, "acme");
    run_export(source(), options, {&counting, &local}, {"acme", "ok.sql.gz", "application/gzip"},
               {}, cancel);
    total_writes = counting.writes();
    fs::remove_all(storage_ + "/acme");
  }
  ASSERT_GE(total_writes, 2);
  for (int n = 1; n <= total_writes + 1; ++n) {  // n = total+1: fails at commit
    FailingDestination failing(n);
    destinations::LocalDestination local(storage_, "acme");
    EXPECT_THROW(run_export(source(), options, {&local, &failing},
                            {"acme", "f.sql.gz", "application/gzip"}, {}, cancel),
                 tb::Error)
        << n;
    EXPECT_TRUE(failing.aborted());
    auto left = files();
    if (n <= total_writes) {
      EXPECT_TRUE(left.empty()) << "n=" << n << " left " << left.size();
    }
    // When only the last commit fails, the earlier (local) commit is durable:
    // the documented orphan case. Nothing temporary may remain either way.
    for (const auto& f : left) EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
    fs::remove_all(storage_ + "/acme");
  }
}

TEST(FileNames, FollowTheContract) {
  SystemTime t{std::chrono::seconds(1795514400)};  // 2026-11-24T10:00:00Z
  EXPECT_EQ(file_name_for("acme", t, Format::kSql, Compression::kZstd),
            "acme-2026-11-24T10-00-00Z.sql.zst");
  EXPECT_EQ(file_name_for("acme", t, Format::kTar, Compression::kGzip),
            "acme-2026-11-24T10-00-00Z.tar.gz");
  EXPECT_EQ(file_name_for("acme", t, Format::kSql, Compression::kNone),
            "acme-2026-11-24T10-00-00Z.sql");
  EXPECT_EQ(file_name_for("acme", t, Format::kSql, Compression::kZstd, "1a2b3c4d"),
            "acme-2026-11-24T10-00-00Z-1a2b3c4d.sql.zst");
  EXPECT_EQ(content_type_for(Format::kSql, Compression::kZstd), "application/zstd");
  EXPECT_EQ(content_type_for(Format::kTar, Compression::kNone), "application/x-tar");
  EXPECT_EQ(parse_format("tar"), Format::kTar);
  EXPECT_EQ(parse_compression("gzip"), Compression::kGzip);
  EXPECT_THROW(parse_format("csv"), tb::Error);
}

}  // namespace
}  // namespace tb::backup
