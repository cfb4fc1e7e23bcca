#include "http/types.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace tb::http {
namespace {

TEST(ErrorResponse, EnvelopeHasCodeMessageFieldButNoDetail) {
  Error e(ErrorCode::kValidation, "'format' must be sql or tar", "SELECT secret FROM x", "format");
  auto r = error_response(e, "req-1");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body.find("SELECT"), std::string::npos);
  auto v = boost::json::parse(r.body).as_object();
  const auto& err = v.at("error").as_object();
  EXPECT_EQ(err.at("code").as_string(), "VALIDATION_ERROR");
  EXPECT_EQ(err.at("message").as_string(), "'format' must be sql or tar");
  EXPECT_EQ(err.at("field").as_string(), "format");
  EXPECT_EQ(err.at("request_id").as_string(), "req-1");
}

TEST(ErrorResponse, StatusFollowsTheCodeTable) {
  EXPECT_EQ(error_response(Error(ErrorCode::kRateLimited, "slow down"), "").status, 429);
  EXPECT_EQ(error_response(Error(ErrorCode::kUnavailable, "db down"), "").status, 503);
  auto r = error_response(Error(ErrorCode::kNotFound, "no such job"), "");
  EXPECT_EQ(r.status, 404);
  auto err = boost::json::parse(r.body).as_object().at("error").as_object();
  EXPECT_FALSE(err.contains("field"));
}

TEST(JsonData, WrapsInData) {
  auto r = json_data(boost::json::value{{"job_id", "j1"}}, 202);
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(boost::json::parse(r.body).at("data").at("job_id").as_string(), "j1");
}

TEST(Request, HeaderLookupIsCaseInsensitive) {
  Request req;
  req.headers = {{"Content-Type", "application/json"}, {"X-Thing", "1"}, {"x-thing", "2"}};
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("X-THING"), "1");
  EXPECT_EQ(req.header("absent"), "");
}

TEST(HtmlResponse, CarriesCsp) {
  auto r = html_response("<p>hi</p>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Content-Security-Policy");
  EXPECT_EQ(r.headers[0].second, "default-src 'self'");
}

}  // namespace
}  // namespace tb::http
