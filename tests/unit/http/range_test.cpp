#include "http/range.hpp"

#include <gtest/gtest.h>

namespace tb::http {
namespace {

TEST(Range, AbsentOrIgnorableGivesWholeFile) {
  for (const char* h :
       {"", "items=0-5", "bytes=", "bytes=abc", "bytes=5", "bytes=0-1,5-6", "bytes=9-3", "bytes=-",
        "bytes=+1-2", "bytes=1-2x", "bytes=99999999999999999999-"}) {
    EXPECT_EQ(parse_range(h, 1000).kind, ByteRange::kNone) << h;
  }
}

TEST(Range, SimpleRanges) {
  auto r = parse_range("bytes=0-99", 1000);
  ASSERT_EQ(r.kind, ByteRange::kSatisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(r.length(), 100u);
  EXPECT_EQ(content_range(r, 1000), "bytes 0-99/1000");

  r = parse_range("Bytes= 500-", 1000);
  ASSERT_EQ(r.kind, ByteRange::kSatisfiable);
  EXPECT_EQ(r.first, 500u);
  EXPECT_EQ(r.last, 999u);

  r = parse_range("bytes=999-999", 1000);
  ASSERT_EQ(r.kind, ByteRange::kSatisfiable);
  EXPECT_EQ(r.length(), 1u);
}

TEST(Range, EndPastTheFileIsClamped) {
  auto r = parse_range("bytes=900-5000", 1000);
  ASSERT_EQ(r.kind, ByteRange::kSatisfiable);
  EXPECT_EQ(r.last, 999u);
}

TEST(Range, SuffixRanges) {
  auto r = parse_range("bytes=-100", 1000);
  ASSERT_EQ(r.kind, ByteRange::kSatisfiable);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=-5000", 1000);  // longer than the file: all of it
  ASSERT_EQ(r.kind, ByteRange::kSatisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 999u);
}

TEST(Range, Unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, ByteRange::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=1000-2000", 1000).kind, ByteRange::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, ByteRange::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-0", 0).kind, ByteRange::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-5", 0).kind, ByteRange::kUnsatisfiable);
  EXPECT_EQ(content_range(parse_range("bytes=1000-", 1000), 1000), "bytes */1000");
}

TEST(ContentDisposition, QuotesAndControlCharactersCannotEscape) {
  EXPECT_EQ(content_disposition("backup.sql.zst"), "attachment; filename=\"backup.sql.zst\"");
  EXPECT_EQ(content_disposition("a\"b\\c/d\r\ne"), "attachment; filename=\"a_b_c_d__e\"");
  EXPECT_EQ(content_disposition("caf\xc3\xa9"), "attachment; filename=\"caf__\"");
}

}  // namespace
}  // namespace tb::http
