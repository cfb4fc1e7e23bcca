#include "http/router.hpp"

#include <gtest/gtest.h>

namespace tb::http {
namespace {

Response ok(Request&) {
  return {};
}

Router make_router() {
  return Router({
      {"GET", "/api/jobs/{id}", RateClass::kRead, ok},
      {"POST", "/api/jobs/{id}/cancel", RateClass::kWork, ok},
      {"GET", "/api/backup/{id}", RateClass::kRead, ok},
      {"GET", "/api/backup/history", RateClass::kRead, ok},
      {"DELETE", "/api/backups/{id}", RateClass::kRead, ok},
      {"GET", "/api/backups/{id}", RateClass::kRead, ok},
      {"GET", "/assets/{*path}", RateClass::kNone, ok},
      {"GET", "/", RateClass::kNone, ok},
  });
}

TEST(Router, MatchesLiteralAndCapturesParams) {
  auto r = make_router();
  auto m = r.match("GET", "/api/jobs/abc-123");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/jobs/{id}");
  EXPECT_EQ(m.params.at("id"), "abc-123");
  EXPECT_EQ(&r.routes()[m.index], m.route);

  m = r.match("POST", "/api/jobs/42/cancel");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/jobs/{id}/cancel");
  EXPECT_EQ(m.params.at("id"), "42");

  m = r.match("GET", "/");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/");
}

TEST(Router, LiteralBeatsParameterWhateverTheOrder) {
  auto r = make_router();
  auto m = r.match("GET", "/api/backup/history");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/backup/history");
  EXPECT_TRUE(m.params.empty());
  m = r.match("GET", "/api/backup/other");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/backup/{id}");
}

TEST(Router, UnknownPathIsNotFound) {
  auto r = make_router();
  for (const char* p :
       {"/api/jobs", "/api/jobs/", "/api/jobs/1/2", "/nope", "/api/jobs/1/cancel/x"}) {
    auto m = r.match("GET", p);
    EXPECT_EQ(m.route, nullptr) << p;
    EXPECT_TRUE(m.allow.empty()) << p;
  }
}

TEST(Router, KnownPathWrongMethodListsAllowed) {
  auto r = make_router();
  auto m = r.match("PUT", "/api/backups/7");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "DELETE, GET, HEAD");
  m = r.match("GET", "/api/jobs/1/cancel");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allow, "POST");
}

TEST(Router, HeadMatchesGet) {
  auto r = make_router();
  auto m = r.match("HEAD", "/api/jobs/1");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, "GET");
}

TEST(Router, CatchAllTakesTheRest) {
  auto r = make_router();
  auto m = r.match("GET", "/assets/js/app.js");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("path"), "js/app.js");
  m = r.match("GET", "/assets");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("path"), "");
}

TEST(Router, RejectsBadTables) {
  EXPECT_THROW(Router({{"GET", "/a", RateClass::kNone, ok}, {"GET", "/a", RateClass::kNone, ok}}),
               Error);
  EXPECT_THROW(Router({{"GET", "a", RateClass::kNone, ok}}), Error);
  EXPECT_THROW(Router({{"GET", "/a/{*rest}/b", RateClass::kNone, ok}}), Error);
  EXPECT_THROW(Router({{"GET", "/a/{}", RateClass::kNone, ok}}), Error);
  EXPECT_THROW(Router({{"GET", "/a", RateClass::kNone, nullptr}}), Error);
}

}  // namespace
}  // namespace tb::http
