// The shared text helpers (core/text.hpp) and UniqueFd (core/unique_fd.hpp).
#include "core/text.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <utility>

#include "core/log.hpp"
#include "core/unique_fd.hpp"

namespace tb {
namespace {

TEST(Text, TrimRemovesSpacesAndTabsAtBothEndsOnly) {
  EXPECT_EQ(trim(" \t bytes=0-1 \t"), "bytes=0-1");
  EXPECT_EQ(trim("a b"), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\nx\n"), "\nx\n");  // a line end is not optional whitespace
}

TEST(Text, IequalsIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Retry-After:", "retry-after:"));
  EXPECT_TRUE(iequals("JWT", "jwt"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("JWT", "JWT "));
  EXPECT_FALSE(iequals("bearer", "bearex"));
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // É and é: not ASCII, compared as bytes
}

TEST(Text, ReplaceAllReplacesEveryOccurrenceAndNeverItsOwnOutput) {
  EXPECT_EQ(replace_all("a-s3cret-b-s3cret", "s3cret", "***"), "a-***-b-***");
  EXPECT_EQ(replace_all("nothing", "s3cret", "***"), "nothing");
  EXPECT_EQ(replace_all("abc", "", "***"), "abc");
  // A secret found inside its own replacement must not loop forever.
  EXPECT_EQ(replace_all("x*y", "*", "***"), "x***y");
  EXPECT_EQ(replace_all("aaa", "a", "aa"), "aaaaaa");
}

TEST(Text, RedactWithASecretHidesItInEveryPlace) {
  EXPECT_EQ(log::redact("FATAL: password \"hunter22\" for hunter22", "hunter22"),
            "FATAL: password \"***\" for ***");
  EXPECT_EQ(log::redact("no secret here", ""), "no secret here");
  EXPECT_EQ(log::redact("pass * and **", "*"), "pass *** and ******");
}

TEST(UniqueFd, ClosesOnDestructionAndHandsOverOnMoveAndRelease) {
  int raw = -1;
  {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    raw = fd.get();
    UniqueFd moved(std::move(fd));
    EXPECT_FALSE(fd.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
    EXPECT_EQ(moved.get(), raw);
    EXPECT_EQ(::fcntl(raw, F_GETFD), FD_CLOEXEC);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed by the owner

  UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int kept = fd.release();
  EXPECT_FALSE(fd.valid());
  EXPECT_NE(::fcntl(kept, F_GETFD), -1);  // release() did not close it
  ::close(kept);
}

}  // namespace
}  // namespace tb
