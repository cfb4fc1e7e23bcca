// Tenants cut out of one batch dump, against a real cluster and the real
// pg_dump, pg_restore and psql: a cut prints exactly what `pg_dump -n` of
// that schema alone prints; it restores alone into an empty database, both
// sql and tar, with the same data; it holds nothing of any other tenant, even
// when a tenant's function body carries text shaped like another tenant's
// entries; a locked table names its tenant.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "archive/cut.hpp"
#include "archive/toc.hpp"
#include "backup/manifest.hpp"
#include "core/error.hpp"
#include "fleet/batch_dump.hpp"
#include "fleet/tenant_archive.hpp"
#include "io/sink.hpp"
#include "support/pg_cluster.hpp"
#include "support/table_lock.hpp"

namespace tb::fleet {
namespace {

namespace fs = std::filesystem;
using test::PgCluster;
using test::run_command;

constexpr int kFleet = 200;  // plain tenants tenant_t000 .. tenant_t199

// The special tenants: odd names, every kind of object, and a function whose
// body looks like another tenant's entries in the plain format.
const char* kSpecial = R"SQL(
CREATE SCHEMA tenant_acme;
CREATE TABLE tenant_acme."Mixed Case" (id serial PRIMARY KEY, "select" text, "Quote""d" int);
INSERT INTO tenant_acme."Mixed Case" ("select", "Quote""d") VALUES
  ('Zürich 東京', 1), (NULL, NULL), (E'line\nbreak\ttab', 3), (E'--\n-- Name: x; Type: TABLE; Schema: tenant_t001', 4);
CREATE TABLE tenant_acme.customers (id bigint PRIMARY KEY, name text NOT NULL, data jsonb,
  mixed_id int REFERENCES tenant_acme."Mixed Case"(id));
INSERT INTO tenant_acme.customers SELECT g, 'c' || g, jsonb_build_object('g', g), 1 + g % 4
  FROM generate_series(1, 5000) g;
CREATE SEQUENCE tenant_acme.invoice_seq START 1000;
SELECT setval('tenant_acme.invoice_seq', 1234);
CREATE VIEW tenant_acme.v AS SELECT count(*) AS n FROM tenant_acme.customers;
CREATE MATERIALIZED VIEW tenant_acme.mv AS SELECT id FROM tenant_acme.customers WHERE id < 10;
CREATE FUNCTION tenant_acme.decoy() RETURNS text LANGUAGE sql AS $$ SELECT '
--
-- Name: evil; Type: TABLE; Schema: tenant_t002; Owner: -
--

CREATE TABLE tenant_t002.evil (x int);
' $$;
CREATE FUNCTION tenant_acme.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE INSERT ON tenant_acme.customers FOR EACH ROW EXECUTE FUNCTION tenant_acme.touch();
COMMENT ON SCHEMA tenant_acme IS 'the acme tenant';
CREATE ROLE fleet_cut_reader NOLOGIN;
GRANT USAGE ON SCHEMA tenant_acme TO fleet_cut_reader;
GRANT SELECT ON tenant_acme.customers TO fleet_cut_reader;
CREATE SCHEMA "tenant_my-proj";
CREATE TABLE "tenant_my-proj".items (id int PRIMARY KEY, body text);
INSERT INTO "tenant_my-proj".items SELECT g, repeat('x', g % 50) FROM generate_series(1, 300) g;
COMMENT ON SCHEMA "tenant_my-proj" IS 'hyphenated';
CREATE SCHEMA tenant_empty;
)SQL";

// kFleet small tenants of three tables each, in one statement.
const char* kFleetSql = R"SQL(
DO $$ BEGIN
  FOR i IN 0 .. %N% - 1 LOOP
    EXECUTE format('CREATE SCHEMA tenant_t%s', lpad(i::text, 3, '0'));
    EXECUTE format('CREATE TABLE tenant_t%1$s.accounts (id int PRIMARY KEY, name text);
                    CREATE TABLE tenant_t%1$s.orders (id int PRIMARY KEY, account_id int REFERENCES tenant_t%1$s.accounts, total numeric);
                    CREATE TABLE tenant_t%1$s.notes (body text);
                    INSERT INTO tenant_t%1$s.accounts SELECT g, %2$L || g FROM generate_series(1, 5 + %3$s) g;
                    INSERT INTO tenant_t%1$s.orders SELECT g, 1 + g %% 5, g * %3$s FROM generate_series(1, 20) g;',
                   lpad(i::text, 3, '0'), 'tenant ' || i || ' account ', i);
  END LOOP;
END $$;
)SQL";

std::string fleet_sql() {
  std::string sql = kFleetSql;
  sql.replace(sql.find("%N%"), 3, std::to_string(kFleet));
  return sql;
}

// Each line of `text` through `edit`; a line `edit` empties is dropped.
template <class Edit>
std::string edit_lines(const std::string& text, Edit edit) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    line = edit(line);
    if (!line.empty()) out += line + "\n";
  }
  return out;
}

std::string tenant(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "tenant_t%03d", i);
  return name;
}

// pg_dump prints a random \restrict key (15.14 and later) on two lines.
std::string without_restrict_keys(const std::string& sql) {
  return edit_lines(sql, [](const std::string& line) {
    for (std::string command : {"\\restrict ", "\\unrestrict "}) {
      if (line.rfind(command, 0) == 0) return command + "KEY";
    }
    return line.empty() ? std::string("\n") : line;  // keep blank lines
  });
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string quoted(const std::string& schema) {
  return "\"" + schema + "\"";
}

class FleetCut : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& pg = PgCluster::shared();
    db_ = new std::string(pg.create_database("fleet_src"));
    pg.exec(*db_, kSpecial);
    pg.exec(*db_, fleet_sql());
    work_ = new std::string(test::make_temp_dir("tb-fleet-cut"));
    schemas_ = new std::vector<std::string>{"tenant_acme", "tenant_my-proj", "tenant_empty"};
    for (int i = 0; i < kFleet; ++i) schemas_->push_back(tenant(i));
    std::atomic<bool> cancel{false};
    batch_ = new BatchDump(dump_batch(source(), *schemas_, *work_ + "/batch", {}, cancel));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*work_);
    PgCluster::shared().drop_database(*db_);
    delete batch_;
    delete schemas_;
    delete work_;
    delete db_;
  }

  static backup::DumpSource source() {
    return {PgCluster::shared().bin_dir(), PgCluster::shared().conninfo(*db_), ""};
  }

  // The tenant's cut, written to a file.
  static std::string cut(const std::string& schema, backup::Format format) {
    io::StringSink out;
    std::atomic<bool> cancel{false};
    TenantArchiveOptions options;
    options.pg_bin_dir = PgCluster::shared().bin_dir();
    write_tenant_archive(*batch_, schema, format, out, options, cancel);
    const std::string path =
        *work_ + "/" + schema + (format == backup::Format::kTar ? ".tar" : ".sql");
    std::ofstream(path, std::ios::binary) << out.str();
    return path;
  }

  static std::string bin(const std::string& program) {
    return PgCluster::shared().bin_dir() + "/" + program;
  }

  static inline std::string* db_ = nullptr;
  static inline std::string* work_ = nullptr;
  static inline std::vector<std::string>* schemas_ = nullptr;
  static inline BatchDump* batch_ = nullptr;
};

TEST_F(FleetCut, ASqlCutIsByteForByteWhatPgDumpOfThatSchemaAlonePrints) {
  auto& pg = PgCluster::shared();
  for (const std::string schema : {"tenant_acme", "tenant_my-proj", "tenant_empty", "tenant_t000",
                                   "tenant_t117", "tenant_t199"}) {
    const std::string alone = *work_ + "/alone.sql";
    run_command(bin("pg_dump") + " --no-owner --schema='" + quoted(schema) + "' -f " + alone +
                " '" + pg.conninfo(*db_) + "'");
    EXPECT_EQ(without_restrict_keys(slurp(cut(schema, backup::Format::kSql))),
              without_restrict_keys(slurp(alone)))
        << schema;
  }
}

TEST_F(FleetCut, ATarCutListsWhatPgDumpTarOfThatSchemaAloneLists) {
  auto& pg = PgCluster::shared();
  // pg_restore -l names each entry "<dump id>; <tableoid> <oid> <type>
  // <schema> <name> <owner>"; its ";" header lines (time, counts) differ.
  // Dump ids and oids of the batch differ from a dump of the schema alone
  // (the batch numbers more objects): the entries are compared without them.
  auto entries = [&](const std::string& tar) {
    return edit_lines(run_command(bin("pg_restore") + " -l " + tar), [](const std::string& line) {
      if (line.empty() || line[0] == ';') return std::string();
      std::size_t at = 0;
      for (int field = 0; field < 3 && at != std::string::npos; ++field)
        at = line.find(' ', at + 1);
      return at == std::string::npos ? line : line.substr(at + 1);
    });
  };
  for (const std::string schema : {"tenant_acme", "tenant_my-proj", "tenant_t042"}) {
    const std::string alone = *work_ + "/alone.tar";
    run_command(bin("pg_dump") + " --format=tar --no-owner --schema='" + quoted(schema) + "' -f " +
                alone + " '" + pg.conninfo(*db_) + "'");
    EXPECT_EQ(entries(cut(schema, backup::Format::kTar)), entries(alone)) << schema;
  }
}

// A fleet run's archive gives its tenant the same manifest (rows per table,
// counted from the stream) as pg_dump of that schema alone: the tar cut has
// no restore.sql, so toc.dat names its tables.
TEST_F(FleetCut, ACutHasTheManifestOfPgDumpOfThatSchemaAlone) {
  auto& pg = PgCluster::shared();
  auto manifest = [](const std::string& bytes, backup::Format format) {
    io::NullSink out;
    backup::ManifestCounter counter(format, out);
    counter.write(io::as_bytes(bytes));
    counter.finish();
    auto m = counter.manifest();
    std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return m;
  };
  for (const std::string schema : {"tenant_acme", "tenant_my-proj", "tenant_t007"}) {
    for (auto format : {backup::Format::kSql, backup::Format::kTar}) {
      const std::string alone = *work_ + "/alone";
      run_command(bin("pg_dump") + " --no-owner --format=" +
                  (format == backup::Format::kTar ? "tar" : "plain") + " --schema='" +
                  quoted(schema) + "' -f " + alone + " '" + pg.conninfo(*db_) + "'");
      const auto expected = manifest(slurp(alone), format);
      EXPECT_FALSE(expected.empty()) << schema;
      EXPECT_TRUE(expected == manifest(slurp(cut(schema, format)), format))
          << schema << " " << backup::to_string(format);
    }
  }
}

TEST_F(FleetCut, EachCutRestoresAloneIntoAnEmptyDatabaseWithTheSameData) {
  auto& pg = PgCluster::shared();
  const std::vector<std::pair<std::string, std::vector<std::string>>> checks = {
      {"tenant_acme", {"\"Mixed Case\"", "customers", "mv", "v"}},
      {"tenant_my-proj", {"items"}},
      {"tenant_t007", {"accounts", "orders", "notes"}}};
  for (const auto& [schema, tables] : checks) {
    for (auto format : {backup::Format::kSql, backup::Format::kTar}) {
      const auto path = cut(schema, format);
      const auto target = pg.create_database("fleet_restore");
      if (format == backup::Format::kSql) {
        run_command(bin("psql") + " -X -q -v ON_ERROR_STOP=1 -f " + path + " '" +
                    pg.conninfo(target) + "'");
      } else {
        // From a pipe, as the service's restore reads it: members in order.
        run_command("cat " + path + " | " + bin("pg_restore") + " --no-owner --exit-on-error -d '" +
                    pg.conninfo(target) + "'");
      }
      for (const auto& table : tables) {
        const auto qualified = quoted(schema) + "." + table;
        EXPECT_EQ(test::table_digest(target, qualified), test::table_digest(*db_, qualified))
            << schema << " " << table << " " << to_string(format);
      }
      EXPECT_EQ(pg.query_value(target,
                               "SELECT string_agg(nspname, ',') FROM pg_namespace WHERE "
                               "nspname LIKE 'tenant%'"),
                schema)
          << to_string(format);
      if (schema == "tenant_acme") {
        EXPECT_EQ(pg.query_value(target, "SELECT last_value FROM tenant_acme.invoice_seq"), "1234");
        EXPECT_EQ(pg.query_value(target, "SELECT obj_description('tenant_acme'::regnamespace)"),
                  "the acme tenant");
        EXPECT_EQ(pg.query_value(target,
                                 "SELECT has_table_privilege('fleet_cut_reader', "
                                 "'tenant_acme.customers', 'SELECT')"),
                  "t");
      }
      pg.drop_database(target);
    }
  }
}

TEST_F(FleetCut, ATenantsTarHoldsItsOwnSchemaAndNothingOfAnyOther) {
  // pg_restore's own reading of the cuts (the special tenants and every 20th
  // of the fleet, whose neighbours share its batch): every entry that names a
  // schema names the tenant's, and the only SCHEMA entry is the tenant's.
  for (std::size_t i = 0; i < schemas_->size(); ++i) {
    const auto& schema = (*schemas_)[i];
    if (i >= 3 && i % 20 != 0) continue;
    const auto listing =
        run_command(bin("pg_restore") + " -l " + cut(schema, backup::Format::kTar));
    std::istringstream lines(listing);
    std::string line;
    int schema_entries = 0;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == ';') continue;
      // "<id>; <tableoid> <oid> <desc...> <schema> <name> <owner>"
      ASSERT_EQ(line.find("tenant_"), line.find(schema)) << schema << ": " << line;
      if (line.find(" SCHEMA - ") != std::string::npos) ++schema_entries;
    }
    EXPECT_EQ(schema_entries, 1) << schema << "\n" << listing;
  }
}

TEST_F(FleetCut, TheTableOfContentsIsWrittenBackByteForByteAndDamageIsRefused) {
  const auto bytes = slurp(batch_->dir + "/toc.dat");
  const auto toc = archive::read_toc(bytes);
  EXPECT_EQ(archive::write_toc(toc), bytes);
  EXPECT_EQ(archive::schemas_of(toc).size(), schemas_->size());
  auto refused = [](const std::string& damaged) {
    try {
      archive::read_toc(damaged);
      return false;
    } catch (const Error& e) {
      return e.code() == ErrorCode::kInternal && !e.detail().empty();
    }
  };
  EXPECT_TRUE(refused(bytes.substr(0, bytes.size() - 1)));  // truncated
  EXPECT_TRUE(refused(bytes + "x"));                        // trailing bytes
  auto newer = bytes;
  newer[6] = 15;  // archive version 1.15: another layout
  EXPECT_TRUE(refused(newer));
  EXPECT_TRUE(refused("PGDMQ" + bytes.substr(5)));
}

TEST_F(FleetCut, ASchemaTheBatchDoesNotHoldIsNotFound) {
  io::StringSink out;
  std::atomic<bool> cancel{false};
  try {
    write_tenant_archive(*batch_, "tenant_t2000", backup::Format::kTar, out, {}, cancel);
    FAIL() << "a cut of a schema outside the batch";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  EXPECT_TRUE(out.str().empty());
}

TEST_F(FleetCut, ALockedTableFailsTheBatchAndNamesItsTenant) {
  auto& pg = PgCluster::shared();
  test::TableLock lock(pg.conninfo(*db_), "\"tenant_my-proj\".items");
  std::atomic<bool> cancel{false};
  BatchOptions options;
  options.lock_wait = std::chrono::milliseconds(200);
  try {
    dump_batch(source(), {"tenant_t001", "tenant_my-proj"}, *work_ + "/locked", options, cancel);
    FAIL() << "the batch dumped a table another session holds exclusively";
  } catch (const Error& e) {
    EXPECT_EQ(locked_schema(e.detail()), "tenant_my-proj") << e.detail();
  }
  EXPECT_FALSE(fs::exists(*work_ + "/locked"));
}

}  // namespace
}  // namespace tb::fleet
