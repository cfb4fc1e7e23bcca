// Replays every seed-corpus file of every fuzz target (tests/fuzz/corpus/<target>/)
// through the same LLVMFuzzerTestOneInput code under g++ (and ASan+UBSan in
// `make test`), so the corpora are regression tests without clang. A target
// signals a bug by crashing or aborting, which fails this binary. Crashes
// found by `make fuzz` belong here too: copy the crash file into the corpus.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int tb_fuzz_request_body(const std::uint8_t* data, std::size_t size);
extern "C" int tb_fuzz_jwt(const std::uint8_t* data, std::size_t size);
extern "C" int tb_fuzz_range(const std::uint8_t* data, std::size_t size);
extern "C" int tb_fuzz_telegram_reply(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;
using Target = int (*)(const std::uint8_t*, std::size_t);

struct Case {
  const char* name;
  Target target;
};

class FuzzCorpus : public ::testing::TestWithParam<Case> {};

fs::path corpus_dir(const std::string& name) {
  const char* src = std::getenv("TB_SOURCE_DIR");
  fs::path root = src ? fs::path(src) : fs::path(TB_FUZZ_SOURCE_DIR);
  return root / "tests" / "fuzz" / "corpus" / name;
}

TEST_P(FuzzCorpus, EverySeedRunsClean) {
  const auto& c = GetParam();
  auto dir = corpus_dir(c.name);
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    // nullptr with size 0 is how libFuzzer passes an empty input, too.
    c.target(bytes.empty() ? nullptr : reinterpret_cast<const std::uint8_t*>(bytes.data()),
             bytes.size());
    ++files;
  }
  EXPECT_GE(files, 3) << "a corpus this small guards nothing";
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus,
                         ::testing::Values(Case{"request_body", tb_fuzz_request_body},
                                           Case{"jwt", tb_fuzz_jwt}, Case{"range", tb_fuzz_range},
                                           Case{"telegram_reply", tb_fuzz_telegram_reply}),
                         [](const auto& p) { return std::string(p.param.name); });

}  // namespace
