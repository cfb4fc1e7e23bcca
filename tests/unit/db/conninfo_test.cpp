#include "db/conninfo.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.hpp"

namespace tb::db {
namespace {

TEST(Conninfo, ReadsAUriAndAKeywordString) {
  ConninfoOptions uri =
      parse_conninfo("postgresql://app:s3cret@db.example:6432/platform?sslmode=require");
  ConninfoOptions kv = parse_conninfo(
      "host=db.example port=6432 user=app password=s3cret dbname=platform sslmode=require");
  EXPECT_EQ(uri, kv);
  auto has = [&](const std::string& k, const std::string& v) {
    return std::find(kv.begin(), kv.end(), std::pair<std::string, std::string>{k, v}) != kv.end();
  };
  EXPECT_TRUE(has("password", "s3cret"));
  EXPECT_TRUE(has("dbname", "platform"));
}

TEST(Conninfo, FormattedValuesWithQuotesAndBackslashesReadBackTheSame) {
  ConninfoOptions options{{"host", "/tmp/socket dir"},
                          {"password", R"(it's a \ secret)"},
                          {"application_name", "tb job x"}};
  auto back = parse_conninfo(format_conninfo(options));  // in libpq's keyword order
  std::sort(back.begin(), back.end());
  std::sort(options.begin(), options.end());
  EXPECT_EQ(back, options);
}

TEST(Conninfo, SplitPasswordLeavesEverythingButThePassword) {
  auto split = split_password("postgresql://app:s3cret@db.example:6432/platform?sslmode=require");
  EXPECT_EQ(split.password, "s3cret");
  EXPECT_EQ(split.conninfo.find("s3cret"), std::string::npos);
  auto rest = parse_conninfo(split.conninfo);
  std::sort(rest.begin(), rest.end());
  ConninfoOptions want{{"dbname", "platform"},
                       {"host", "db.example"},
                       {"port", "6432"},
                       {"sslmode", "require"},
                       {"user", "app"}};
  EXPECT_EQ(rest, want);
  EXPECT_EQ(split_password("host=/tmp dbname=x").password, "");
}

TEST(Conninfo, AnUnparsableStringNeverShowsItsContent) {
  try {
    parse_conninfo("host=x password=hunter2 nonsense");
    FAIL() << "parsed";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "invalid database connection settings");
    EXPECT_EQ(e.detail().find("hunter2"), std::string::npos) << e.detail();
  }
}

}  // namespace
}  // namespace tb::db
