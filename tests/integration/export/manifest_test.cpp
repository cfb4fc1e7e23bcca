// The manifest counted from the dump stream: real pg_dump output (plain and
// tar) of a schema with an empty table, quoted and mixed-case names, values
// that look like COPY's end line or hold newlines, a function whose body
// holds a COPY line, and a large table, fed to the counter in chunks split at
// random points (1 byte up to 64 KiB): the counts are exact every time and
// equal what count(*) says in the database.
#include "backup/manifest.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "destinations/local.hpp"
#include "io/compress.hpp"
#include "io/sink.hpp"
#include "support/pg_cluster.hpp"

namespace tb::backup {

// Readable failures.
void PrintTo(const TableRows& t, std::ostream* os);
void PrintTo(const TableRows& t, std::ostream* os) {
  *os << t.name << ": " << t.rows;
}

namespace {

namespace fs = std::filesystem;
using tb::test::PgCluster;
using tb::test::run_command;

const char* kSeed = R"SQL(
CREATE SCHEMA tenant_m;
SET search_path = tenant_m;
CREATE TABLE empty (id int);
CREATE TABLE "Mixed Case" (t text);
INSERT INTO "Mixed Case" VALUES (''), ('\.'), (E'two\nlines'), (NULL), (E'\\.');
CREATE TABLE "q""t" (i int);
INSERT INTO "q""t" VALUES (1), (2);
CREATE TABLE "with space.dot" (c text);
INSERT INTO "with space.dot" VALUES ('COPY tenant_m.x (c) FROM stdin;');
CREATE TABLE big (id int PRIMARY KEY, note text);
INSERT INTO big SELECT g, repeat('n', g % 50) FROM generate_series(1, 50000) g;
CREATE TABLE parts (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE parts_a PARTITION OF parts FOR VALUES FROM (0) TO (10);
CREATE TABLE parts_b PARTITION OF parts FOR VALUES FROM (10) TO (20);
INSERT INTO parts SELECT g, g % 20 FROM generate_series(1, 30) g;
CREATE FUNCTION decoy() RETURNS text LANGUAGE sql AS $$
SELECT '
COPY tenant_m.big (id, note) FROM stdin;
1	x
'
$$;
)SQL";

const Manifest kExpected = {{"Mixed Case", 5},    {"big", 50000},  {"empty", 0},
                            {"parts_a", 19},      {"parts_b", 11}, {"q\"t", 2},
                            {"with space.dot", 1}};

Manifest sorted(Manifest m) {
  std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return m;
}

class ManifestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& pg = PgCluster::shared();
    db_ = new std::string(pg.create_database("manifest_src"));
    pg.exec(*db_, kSeed);
    work_ = new std::string(tb::test::make_temp_dir("tb-manifest"));
    for (const auto* format : {"plain", "tar"}) {
      run_command(pg.bin_dir() + "/pg_dump --no-owner --format=" + format +
                  " --schema=tenant_m --dbname='" + pg.conninfo(*db_) + "' > " + *work_ + "/" +
                  format);
    }
  }
  static void TearDownTestSuite() {
    PgCluster::shared().drop_database(*db_);
    fs::remove_all(*work_);
    delete db_;
    delete work_;
  }

  static std::string dump(const std::string& format) {
    std::ifstream in(*work_ + "/" + format, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // The dump fed in chunks cut at random points; every byte reaches the next sink.
  static Manifest count(Format format, const std::string& bytes, std::mt19937& rng,
                        std::size_t max_chunk) {
    io::StringSink out;
    ManifestCounter counter(format, out);
    std::uniform_int_distribution<std::size_t> size(1, max_chunk);
    for (std::size_t at = 0; at < bytes.size();) {
      const std::size_t n = std::min(size(rng), bytes.size() - at);
      counter.write(io::as_bytes(std::string_view(bytes).substr(at, n)));
      at += n;
    }
    counter.finish();
    EXPECT_TRUE(out.finished());
    EXPECT_EQ(out.str(), bytes);
    return counter.manifest();
  }

  static std::string* db_;
  static std::string* work_;
};
std::string* ManifestTest::db_ = nullptr;
std::string* ManifestTest::work_ = nullptr;

TEST_F(ManifestTest, TheSeedIsWhatTheDatabaseCounts) {
  auto& pg = PgCluster::shared();
  for (const auto& t : kExpected) {
    std::string quoted = "\"";
    for (char c : t.name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    EXPECT_EQ(pg.query_value(*db_, "SELECT count(*) FROM tenant_m." + quoted + "\""),
              std::to_string(t.rows))
        << t.name;
  }
}

TEST_F(ManifestTest, PlainDumpCountsAreExactWhereverTheChunksSplit) {
  const auto bytes = dump("plain");
  std::mt19937 rng(17);
  for (std::size_t max_chunk : {1ul, 3ul, 7ul, 511ul, 513ul, 4096ul, 65536ul}) {
    EXPECT_EQ(sorted(count(Format::kSql, bytes, rng, max_chunk)), kExpected) << max_chunk;
  }
}

TEST_F(ManifestTest, TarDumpCountsAreExactWhereverTheChunksSplit) {
  const auto bytes = dump("tar");
  std::mt19937 rng(42);
  for (std::size_t max_chunk : {1ul, 5ul, 511ul, 512ul, 1023ul, 4096ul, 65536ul}) {
    EXPECT_EQ(sorted(count(Format::kTar, bytes, rng, max_chunk)), kExpected) << max_chunk;
  }
}

// A tar archive without restore.sql (what a fleet run writes): toc.dat names
// the tables; and one whose toc.dat cannot be read: restore.sql does.
TEST_F(ManifestTest, TarTablesAreNamedByTocDatOrElseByRestoreSql) {
  const auto tar = dump("tar");
  for (const std::string drop : {"restore.sql", "toc.dat"}) {
    // The archive's members but `drop`, then the two zero blocks.
    std::string without;
    for (std::size_t at = 0; at + 512 <= tar.size() && tar[at] != 0;) {
      const std::string name(tar.c_str() + at);
      const std::size_t size = std::stoul(tar.substr(at + 124, 12), nullptr, 8);
      const std::size_t member = 512 + (size + 511) / 512 * 512;
      if (name != drop) without += tar.substr(at, member);
      at += member;
    }
    without += std::string(1024, '\0');
    ASSERT_LT(without.size(), tar.size());
    std::mt19937 rng(7);
    EXPECT_EQ(sorted(count(Format::kTar, without, rng, 4096)), kExpected) << "without " << drop;
  }
}

TEST_F(ManifestTest, TheExportRecordsTheManifestOfWhatItDumped) {
  auto& pg = PgCluster::shared();
  const std::string storage = tb::test::make_temp_dir("tb-manifest-storage");
  for (auto format : {Format::kSql, Format::kTar}) {
    destinations::LocalDestination local(storage, "m");
    ExportOptions options;
    options.format = format;
    std::atomic<bool> cancel{false};
    auto r = run_export(
        {pg.bin_dir(), pg.conninfo(*db_), "tenant_m"}, options, {&local},
        {"m", std::string("m.") + std::string(to_string(format)) + ".zst", "application/zstd"}, {},
        cancel);
    EXPECT_EQ(sorted(r.tables), kExpected) << to_string(format);
  }
  fs::remove_all(storage);
}

// A fleet run's tenant gets its archive from a producer (its cut of the batch
// dump), not from pg_dump: the same chain serves it, so the stored file is
// zstd at the adaptive level and the manifest counts the uncompressed bytes.
TEST_F(ManifestTest, AProducersArchiveIsCompressedAdaptivelyAndCountedUncompressed) {
  const std::string storage = tb::test::make_temp_dir("tb-manifest-producer");
  for (auto format : {Format::kSql, Format::kTar}) {
    const auto bytes = dump(format == Format::kTar ? "tar" : "plain");
    destinations::LocalDestination local(storage, "p");
    ExportOptions options;
    options.format = format;
    ASSERT_TRUE(options.zstd_adaptive);
    options.producer = [&bytes](io::Sink& out, const std::atomic<bool>&) {
      for (std::size_t at = 0; at < bytes.size(); at += 70000)
        out.write(io::as_bytes(std::string_view(bytes).substr(at, 70000)));
    };
    const std::string name = std::string("p.") + std::string(to_string(format)) + ".zst";
    std::atomic<bool> cancel{false};
    // No database behind the source: the producer is the only input.
    auto r = run_export({PgCluster::shared().bin_dir(), "dbname=nowhere", "tenant_m"}, options,
                        {&local}, {"p", name, "application/zstd"}, {}, cancel);
    EXPECT_EQ(sorted(r.tables), kExpected) << to_string(format);
    EXPECT_EQ(r.dump_bytes, bytes.size());
    EXPECT_LT(r.size_bytes, r.dump_bytes);
    EXPECT_EQ(r.levels.requested, "adaptive");
    EXPECT_GE(r.levels.lowest, options.zstd_floor);
    EXPECT_LE(r.levels.highest, options.zstd_ceiling);
    // What was stored is the producer's archive, compressed.
    std::ifstream in(storage + "/p/" + name, std::ios::binary);
    std::stringstream stored;
    stored << in.rdbuf();
    io::StringSink plain;
    io::ZstdDecompressor unzstd(plain);
    unzstd.write(io::as_bytes(stored.view()));
    unzstd.finish();
    EXPECT_TRUE(plain.str() == bytes) << to_string(format);
  }
  fs::remove_all(storage);
}

TEST(CopyTableName, ReadsTheTableAsWrittenAfterTheSchema) {
  EXPECT_EQ(copy_table_name("COPY tenant_x.a (i, t) FROM stdin;"), "a");
  EXPECT_EQ(copy_table_name("COPY tenant_x.\"Mixed Case\" (t) FROM stdin;"), "Mixed Case");
  EXPECT_EQ(copy_table_name("COPY \"ten.ant\".\"q\"\"t\" (i) FROM '$$PATH$$/1.dat';"), "q\"t");
  EXPECT_EQ(copy_table_name("COPY a"), std::nullopt);
  EXPECT_EQ(copy_table_name("SELECT 1"), std::nullopt);
  EXPECT_EQ(copy_table_name("COPY s.\"unterminated (x)"), std::nullopt);
}

TEST(ManifestJson, RoundTripsAndRejectsWhatIsNotOne) {
  const Manifest m = {{"a", 0}, {"B c", 12345678901ull}};
  EXPECT_EQ(manifest_from_json(to_json(m)), m);
  EXPECT_EQ(manifest_from_json(boost::json::value(nullptr)), std::nullopt);
  EXPECT_EQ(manifest_from_json(boost::json::parse(R"([{"name": "a", "rows": -1}])")), std::nullopt);
}

}  // namespace
}  // namespace tb::backup
