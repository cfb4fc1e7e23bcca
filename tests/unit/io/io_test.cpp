// Filters on a buffer-size matrix (1, 7, 4096, 1 MiB writes), round-tripped
// through the real zstd/gzip CLIs and through our own decompressors; SHA-256
// checked against sha256sum.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.hpp"
#include "core/unique_fd.hpp"
#include "io/compress.hpp"
#include "io/hash.hpp"
#include "io/sink.hpp"
#include "support/pg_cluster.hpp"

namespace tb::io {
namespace {

namespace fs = std::filesystem;

// Compressible but not trivial: SQL-like lines with random numbers, plus a
// stretch of random bytes so blocks differ.
std::string sample_data(std::size_t size, unsigned seed = 42) {
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(size + 128);
  while (s.size() < size) {
    if (rng() % 50 == 0) {
      for (int i = 0; i < 300; ++i) s += static_cast<char>(rng() & 0xFF);
    } else {
      s += "INSERT INTO \"Mixed Case\" VALUES (" + std::to_string(rng() % 100000) +
           ", 'text é ü', NULL);\n";
    }
  }
  s.resize(size);
  return s;
}

void write_in_chunks(Sink& sink, const std::string& data, std::size_t chunk) {
  std::span<const std::byte> all = as_bytes(data);
  for (std::size_t off = 0; off < all.size(); off += chunk) {
    sink.write(all.subspan(off, std::min(chunk, all.size() - off)));
  }
  sink.finish();
}

struct TempDir {
  std::string path = tb::test::make_temp_dir("tb-io");
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

void save(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

std::string load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Case {
  std::size_t chunk;
  std::size_t size;
};

class FilterMatrix : public ::testing::TestWithParam<Case> {};

const Case kCases[] = {
    {1, 20000}, {7, 300000}, {4096, 3 * 1024 * 1024 + 17}, {1024 * 1024, 5 * 1024 * 1024 + 3}};

TEST_P(FilterMatrix, ZstdRoundTripsThroughRealCliAndOurDecompressor) {
  auto [chunk, size] = GetParam();
  std::string data = sample_data(size);
  for (int workers : {0, 2}) {
    StringSink out;
    ZstdCompressor z(out, 3, workers);
    write_in_chunks(z, data, chunk);
    ASSERT_TRUE(out.finished());
    EXPECT_LT(out.str().size(), data.size());

    TempDir dir;
    save(dir.file("a.zst"), out.str());
    tb::test::run_command("zstd -q -d " + dir.file("a.zst") + " -o " + dir.file("a"));
    EXPECT_EQ(load(dir.file("a")), data) << "workers=" << workers;

    StringSink plain;
    ZstdDecompressor d(plain);
    write_in_chunks(d, out.str(), chunk);
    EXPECT_EQ(plain.str(), data);
  }
}

TEST_P(FilterMatrix, GzipRoundTripsThroughRealCliAndOurDecompressor) {
  auto [chunk, size] = GetParam();
  std::string data = sample_data(size);
  for (int threads : {1, 2}) {
    StringSink out;
    GzipCompressor g(out, 6, threads);
    write_in_chunks(g, data, chunk);
    ASSERT_TRUE(out.finished());

    TempDir dir;
    save(dir.file("a.gz"), out.str());
    tb::test::run_command("gzip -t " + dir.file("a.gz"));
    tb::test::run_command("gzip -d " + dir.file("a.gz"));
    EXPECT_EQ(load(dir.file("a")), data) << "threads=" << threads;

    StringSink plain;
    GzipDecompressor d(plain);
    write_in_chunks(d, out.str(), chunk);
    EXPECT_EQ(plain.str(), data);
  }
}

TEST_P(FilterMatrix, Sha256MatchesSha256sumAndPassesBytesThrough) {
  auto [chunk, size] = GetParam();
  std::string data = sample_data(size, 7);
  StringSink out;
  Sha256 sha(out);
  ByteCounter counter(sha);
  write_in_chunks(counter, data, chunk);
  EXPECT_EQ(out.str(), data);
  EXPECT_EQ(counter.count(), data.size());
  TempDir dir;
  save(dir.file("f"), data);
  std::string expected = tb::test::run_command("sha256sum " + dir.file("f")).substr(0, 64);
  EXPECT_EQ(sha.hex(), expected);
  EXPECT_EQ(sha256_file(dir.file("f")), expected);
}

TEST(Filters, Sha256RangeHashesTheRangeAndAShorterFileToItsEnd) {
  std::string data = sample_data(3 * 1024 * 1024 + 17, 11);
  TempDir dir;
  save(dir.file("f"), data);
  save(dir.file("part"), data.substr(1000, 2 * 1024 * 1024));
  save(dir.file("tail"), data.substr(3 * 1024 * 1024));
  auto sum = [&](const std::string& name) {
    return tb::test::run_command("sha256sum " + dir.file(name)).substr(0, 64);
  };
  UniqueFd fd(::open(dir.file("f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(sha256_range(fd.get(), 1000, 2 * 1024 * 1024), sum("part"));
  // Past the end: only what is there, so the digest no longer matches a
  // recorded one.
  EXPECT_EQ(sha256_range(fd.get(), 3 * 1024 * 1024, 1024 * 1024), sum("tail"));
  EXPECT_EQ(sha256_file(dir.file("f")), sum("f"));
  try {
    sha256_file(dir.file("missing"));
    FAIL() << "hashed a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

INSTANTIATE_TEST_SUITE_P(Chunks, FilterMatrix, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return "chunk" + std::to_string(p.param.chunk); });

TEST(Filters, EmptyStreamsAreValidFiles) {
  TempDir dir;
  StringSink gz;
  GzipCompressor g(gz);
  g.finish();
  save(dir.file("e.gz"), gz.str());
  tb::test::run_command("gzip -d " + dir.file("e.gz"));
  EXPECT_EQ(load(dir.file("e")), "");

  StringSink zs;
  ZstdCompressor z(zs);
  z.finish();
  save(dir.file("e.zst"), zs.str());
  tb::test::run_command("zstd -q -d " + dir.file("e.zst") + " -o " + dir.file("e2"));
  EXPECT_EQ(load(dir.file("e2")), "");

  NullSink null;
  Sha256 sha(null);
  sha.finish();
  EXPECT_EQ(sha.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Filters, DecompressorsReadTheRealCliOutput) {
  std::string data = sample_data(2 * 1024 * 1024 + 5, 3);
  TempDir dir;
  save(dir.file("d"), data);
  tb::test::run_command("zstd -q -9 -T2 -k " + dir.file("d") + " -o " + dir.file("d.zst"));
  tb::test::run_command("gzip -9 -k " + dir.file("d"));
  StringSink a;
  ZstdDecompressor zd(a);
  write_in_chunks(zd, load(dir.file("d.zst")), 1000);
  EXPECT_EQ(a.str(), data);
  StringSink b;
  GzipDecompressor gd(b);
  write_in_chunks(gd, load(dir.file("d.gz")), 1000);
  EXPECT_EQ(b.str(), data);
}

TEST(Filters, TruncatedOrCorruptInputIsAnError) {
  std::string data = sample_data(500000, 9);
  StringSink zs;
  ZstdCompressor z(zs);
  write_in_chunks(z, data, 65536);
  StringSink gz;
  GzipCompressor g(gz);
  write_in_chunks(g, data, 65536);

  {
    NullSink null;
    ZstdDecompressor d(null);
    d.write(as_bytes(zs.str()).first(zs.str().size() - 10));
    EXPECT_THROW(d.finish(), tb::Error);
  }
  {
    NullSink null;
    GzipDecompressor d(null);
    d.write(as_bytes(gz.str()).first(gz.str().size() - 10));
    EXPECT_THROW(d.finish(), tb::Error);
  }
  {
    std::string bad = gz.str();
    bad[bad.size() / 2] ^= 0x55;
    bad[bad.size() / 2 + 1] ^= 0x55;
    NullSink null;
    GzipDecompressor d(null);
    EXPECT_THROW(write_in_chunks(d, bad, 4096), tb::Error);
  }
  {
    NullSink null;
    GzipDecompressor d(null);
    EXPECT_THROW(write_in_chunks(d, "not gzip at all", 4), tb::Error);
  }
}

// A sink that throws on its Nth write: compressors must propagate the error
// and their destructors must stop worker threads cleanly (ASan/TSan-clean).
class FailingSink final : public Sink {
 public:
  explicit FailingSink(int fail_at) : fail_at_(fail_at) {}
  void write(std::span<const std::byte>) override {
    if (++writes_ == fail_at_) throw tb::Error(ErrorCode::kInternal, "injected failure");
  }
  void finish() override {}

 private:
  int fail_at_;
  int writes_ = 0;
};

TEST(Filters, DownstreamFailurePropagatesFromEveryPosition) {
  std::string data = sample_data(6 * 1024 * 1024, 11);
  for (int n = 1; n <= 6; ++n) {  // 6 MiB = 6 members
    FailingSink f(n);
    GzipCompressor g(f, 6, 2);
    EXPECT_THROW(write_in_chunks(g, data, 256 * 1024), tb::Error) << "gzip n=" << n;
  }
  for (int n = 1; n <= 3; ++n) {
    FailingSink f(n);
    ZstdCompressor z(f, 3, 2);
    EXPECT_THROW(write_in_chunks(z, data, 256 * 1024), tb::Error) << "zstd n=" << n;
  }
}

// What pg_dump's COPY sections look like: tab-separated rows.
std::string copy_rows(std::size_t size) {
  static const char* kWords[] = {"alpha",   "customer", "invoice",   "paid",
                                 "pending", "Berlin",   "São Paulo", "\\N"};
  std::mt19937 rng(5);
  std::string s;
  for (int i = 0; s.size() < size; ++i) {
    s += std::to_string(i) + "\t" + kWords[rng() % 8] + " " + kWords[rng() % 8] + "\t" +
         std::to_string(rng() % 100000) + "." + std::to_string(rng() % 100) + "\t2026-0" +
         std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10) + " 10:0" +
         std::to_string(rng() % 10) + ":00+00\t{\"k\": " + std::to_string(rng() % 1000) + "}\n";
  }
  s.resize(size);
  return s;
}

TEST(Filters, GzipIsNoLargerThanGzip6) {
  std::string data = copy_rows(8 * 1024 * 1024);
  StringSink out;
  GzipCompressor g(out, 6, 2);
  write_in_chunks(g, data, 256 * 1024);
  TempDir dir;
  save(dir.file("x"), data);
  tb::test::run_command("gzip -6 " + dir.file("x"));
  EXPECT_LE(out.str().size(), fs::file_size(dir.file("x.gz")));
}

}  // namespace
}  // namespace tb::io
