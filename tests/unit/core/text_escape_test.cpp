#include "core/text_escape.hpp"

#include <gtest/gtest.h>

namespace tb {
namespace {

TEST(TextEscape, ControlsBecomeVisibleEscapes) {
  EXPECT_EQ(escape_controls("a\tb\nc\rd"), "a\\tb\\nc\\rd");
  EXPECT_EQ(escape_controls("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(escape_controls(std::string("nul\0del\x7f", 8)), "nul\\x00del\\x7f");
  // C1 NEL, LINE SEPARATOR: line breaks for some readers, escaped byte by byte.
  EXPECT_EQ(escape_controls("a\xC2\x85"
                            "b\xE2\x80\xA8"
                            "c"),
            "a\\xc2\\x85b\\xe2\\x80\\xa8c");
  // Plain text, UTF-8 and backslashes are kept.
  EXPECT_EQ(escape_controls("caf\xC3\xA9 \\n \"q\" \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \\n \"q\" \xF0\x9F\x98\x80");
}

TEST(TextEscape, InvalidUtf8IsEscapedBytewise) {
  EXPECT_EQ(escape_controls("a\xFF"
                            "b"),
            "a\\xffb");
  EXPECT_EQ(escape_controls("\xC3"), "\\xc3");                    // truncated sequence
  EXPECT_EQ(escape_controls("\xC0\xAF"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(escape_controls("\xED\xA0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(escape_controls("\xE2\x82"
                            "A"),
            "\\xe2\\x82A");  // resynchronises
}

TEST(TextEscape, FieldsEscapeBackslashesAndRoundTrip) {
  EXPECT_EQ(escape_field("a\\tb\tc"), "a\\\\tb\\tc");
  const std::string samples[] = {
      "",         "plain",         "tab\there",           "new\nline\r\n",    "back\\slash\\",
      "\\t\\n",   "\x1b[2J",       std::string("\0x", 2), "\xFF\xFE invalid", "caf\xC3\xA9",
      "\xC2\x85", "\\x41 literal", "trailing\\",
  };
  for (const auto& s : samples) {
    const std::string e = escape_field(s);
    EXPECT_EQ(e.find_first_of("\t\n\r"), std::string::npos) << e;
    ASSERT_TRUE(unescape_field(e)) << e;
    EXPECT_EQ(*unescape_field(e), s) << e;
  }
}

TEST(TextEscape, UnescapeRefusesBrokenEscapes) {
  for (const char* bad : {"\\", "a\\", "\\q", "\\x", "\\x4", "\\xg0", "\\x0g"}) {
    EXPECT_FALSE(unescape_field(bad)) << bad;
  }
}

TEST(TextEscape, ValidUtf8ReplacesOnlyInvalidBytes) {
  EXPECT_EQ(to_valid_utf8("ok \xC3\xA9\n"), "ok \xC3\xA9\n");
  EXPECT_EQ(to_valid_utf8("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace tb
