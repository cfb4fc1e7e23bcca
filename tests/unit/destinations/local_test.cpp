// LocalDestination writes atomically (temp name, fsync, rename) and leaves
// nothing behind on failure; storage paths cannot escape STORAGE_DIR.
#include "destinations/local.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "io/sink.hpp"
#include "support/pg_cluster.hpp"

namespace tb::destinations {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path = tb::test::make_temp_dir("tb-dest");
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Every entry under `dir`, recursively, relative, sorted.
std::vector<std::string> tree(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() || e.is_symlink()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_validation(const std::function<void()>& fn, const std::string& what) {
  try {
    fn();
    ADD_FAILURE() << "accepted: " << what;
  } catch (const tb::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kValidation) << what;
    EXPECT_EQ(e.field(), "storage_path") << what;
  }
}

TEST(StoragePath, AcceptsPlainRelativePaths) {
  EXPECT_EQ(validate_storage_path("acme"), "acme");
  EXPECT_EQ(validate_storage_path("acme/daily_2026-11"), "acme/daily_2026-11");
}

TEST(StoragePath, RefusesTraversalAbsoluteAndOddSegments) {
  for (const std::string& bad : std::vector<std::string>{
           "", "/etc", "../x", "a/../../b", "..", "a//b", "a/", ".", "./a", "a/.hidden", "a\\b",
           std::string("a\nb"), std::string("a\x01") + "b", std::string("a\0b", 3),
           std::string(2000, 'a')}) {
    expect_validation([&] { validate_storage_path(bad); }, bad);
  }
}

TEST(StoragePath, RefusesSymlinksThatEscapeTheStorage) {
  TempDir storage, outside;
  fs::create_directories(storage.path + "/acme");
  fs::create_directory_symlink(outside.path, storage.path + "/evil");
  fs::create_directory_symlink(storage.path + "/acme", storage.path + "/alias");
  expect_validation([&] { resolve_storage_path(storage.path, "evil"); }, "evil");
  expect_validation([&] { resolve_storage_path(storage.path, "evil/deeper/x"); }, "evil/deeper/x");
  expect_validation([&] { LocalDestination d(storage.path, "evil"); }, "LocalDestination evil");
  // A symlink that stays inside is fine.
  EXPECT_EQ(resolve_storage_path(storage.path, "alias/x"),
            fs::weakly_canonical(storage.path).string() + "/alias/x");
  EXPECT_EQ(resolve_storage_path(storage.path, "new/folder"),
            fs::weakly_canonical(storage.path).string() + "/new/folder");
}

TEST(LocalDestination, CommitLeavesExactlyTheFinalFile) {
  TempDir storage;
  LocalDestination d(storage.path, "acme/manual");
  d.begin({"acme", "acme-2026-11-24T10-00-00Z.sql.zst", "application/zstd"});
  std::string tmp = d.temp_path();
  EXPECT_TRUE(fs::exists(tmp));
  EXPECT_EQ(fs::path(tmp).filename().string().rfind(".acme-2026-11-24T10-00-00Z.sql.zst.tmp-", 0),
            0u);
  EXPECT_FALSE(fs::exists(storage.path + "/acme/manual/acme-2026-11-24T10-00-00Z.sql.zst"));
  d.write(io::as_bytes("hello "));
  d.write(io::as_bytes("world"));
  auto loc = d.commit("abc", 11);
  EXPECT_EQ(loc.at("type").as_string(), "local");
  EXPECT_EQ(loc.at("path").as_string(), "acme/manual/acme-2026-11-24T10-00-00Z.sql.zst");
  EXPECT_EQ(loc.at("size").to_number<std::uint64_t>(), 11u);
  EXPECT_EQ(tree(storage.path),
            std::vector<std::string>{"acme/manual/acme-2026-11-24T10-00-00Z.sql.zst"});
  EXPECT_EQ(load(local_file_path(storage.path, loc.at("path").as_string())), "hello world");
  d.abort();  // after commit: a no-op
  EXPECT_EQ(tree(storage.path).size(), 1u);
}

TEST(LocalDestination, AbortAndDestructionLeaveNothing) {
  TempDir storage;
  {
    LocalDestination d(storage.path, "acme");
    d.begin({"acme", "a.sql", "application/sql"});
    d.write(io::as_bytes("partial"));
    d.abort();
    EXPECT_TRUE(tree(storage.path).empty());
    d.begin({"acme", "b.sql", "application/sql"});
    d.write(io::as_bytes("partial"));
  }  // destroyed without commit
  EXPECT_TRUE(tree(storage.path).empty());
}

TEST(LocalDestination, NeverReplacesAnExistingBackup) {
  TempDir storage;
  fs::create_directories(storage.path + "/acme");
  std::ofstream(storage.path + "/acme/a.sql") << "original";
  LocalDestination d(storage.path, "acme");
  d.begin({"acme", "a.sql", "application/sql"});
  d.write(io::as_bytes("new"));
  try {
    d.commit("x", 3);
    ADD_FAILURE() << "replaced an existing file";
  } catch (const tb::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict);
  }
  d.abort();
  EXPECT_EQ(tree(storage.path), std::vector<std::string>{"acme/a.sql"});
  EXPECT_EQ(load(storage.path + "/acme/a.sql"), "original");
}

// Beast's fail_count idea: the writer fails at its Nth step for every N; the
// caller aborts as run_export does; nothing may remain, neither final nor temp.
TEST(LocalDestination, FailingAtEveryStepLeavesNoFile) {
  TempDir storage;
  const int kChunks = 5;
  for (int fail_at = 1; fail_at <= kChunks + 1; ++fail_at) {
    LocalDestination d(storage.path, "acme");
    int step = 0;
    auto maybe_fail = [&] {
      if (++step == fail_at) throw tb::Error(ErrorCode::kInternal, "injected failure");
    };
    bool failed = false;
    try {
      d.begin({"acme", "f.sql", "application/sql"});
      for (int i = 0; i < kChunks; ++i) {
        maybe_fail();
        d.write(io::as_bytes(std::string(100000, 'x')));
      }
      maybe_fail();
      d.commit("x", 100000 * kChunks);
    } catch (const tb::Error&) {
      failed = true;
      d.abort();
    }
    EXPECT_TRUE(failed) << fail_at;
    EXPECT_TRUE(tree(storage.path).empty()) << "fail_at=" << fail_at;
  }
}

TEST(LocalDestination, DiskFullIsAClearErrorAndLeavesNothing) {
  TempDir storage;
  if (::mount("tmpfs", storage.path.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (not root?)";
  }
  struct Unmount {
    std::string p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{storage.path};
  LocalDestination d(storage.path, "acme");
  d.begin({"acme", "big.sql", "application/sql"});
  std::string chunk(256 * 1024, 'x');
  try {
    for (int i = 0; i < 16; ++i) d.write(io::as_bytes(chunk));
    d.commit("x", 16 * chunk.size());
    ADD_FAILURE() << "4 MiB fit in a 1 MiB tmpfs";
  } catch (const tb::Error& e) {
    EXPECT_EQ(e.message(), "no space left on the backup storage");
    EXPECT_NE(e.detail().find("big.sql"), std::string::npos) << e.detail();
    d.abort();
  }
  EXPECT_TRUE(tree(storage.path).empty());
}

}  // namespace
}  // namespace tb::destinations
