// The HTTP server end to end on 127.0.0.1 (port 0), real sockets and libcurl
// as the client. This file: routing and the error envelope, body limits and
// content types, rate limits and client addresses, handler errors, metrics.
// Connections (files and ranges, keep-alive, slow and idle clients, stop) are
// in server_connections_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "server_fixture.hpp"

namespace tb::http::test {
namespace {

TEST_F(ServerTest, JsonRouteWithParamsQueryAndStandardHeaders) {
  start();
  auto r =
      fetch(base_ + "/api/items/a%20b?q=hello%20world&x=1", "GET", {}, {"X-Request-Id: my-req_1"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("data").at("id").as_string(), "a b");
  EXPECT_EQ(v.at("data").at("q").as_string(), "hello world");
  EXPECT_EQ(v.at("data").at("client_ip").as_string(), "127.0.0.1");
  EXPECT_EQ(v.at("data").at("request_id").as_string(), "my-req_1");
  EXPECT_EQ(r.header("x-request-id"), "my-req_1");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("ratelimit-policy"), "1200;w=60");

  // An insane request id is replaced by a generated one.
  r = fetch(base_ + "/api/items/1", "GET", {}, {"X-Request-Id: bad id\" <script>"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-request-id").size(), 36u) << r.header("x-request-id");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowedUseTheEnvelope) {
  start();
  auto r = fetch(base_ + "/api/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code_of(r), "NOT_FOUND");
  r = fetch(base_ + "/api/items/1", "PUT", "{}", {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(error_code_of(r), "METHOD_NOT_ALLOWED");
  EXPECT_EQ(r.header("allow"), "DELETE, GET, HEAD");
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  start();
  std::string big(70 * 1024, 'x');
  big = "\"" + big + "\"";
  auto r = fetch(base_ + "/api/echo", "POST", big, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code_of(r), "PAYLOAD_TOO_LARGE");
  // Just under the limit is fine.
  std::string ok = "\"" + std::string(60 * 1024, 'y') + "\"";
  r = fetch(base_ + "/api/echo", "POST", ok, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(boost::json::parse(r.body).at("data").at("body").as_string().size(), ok.size());

  // A client that sends the whole body at once (no 100-continue) still reads
  // the 413 instead of a connection reset.
  RawClient raw(server_->port());
  ASSERT_TRUE(raw.connected());
  raw.send(
      "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(big.size()) + "\r\n\r\n" + big);
  auto text = raw.read(5s, "}}");
  EXPECT_EQ(text.rfind("HTTP/1.1 413", 0), 0u) << text.substr(0, 200);

  // Chunked bodies have no Content-Length: the limit applies while reading.
  RawClient chunked(server_->port());
  std::string req =
      "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 70; ++i) req += "400\r\n" + std::string(1024, 'z') + "\r\n";
  req += "0\r\n\r\n";
  chunked.send(req);
  text = chunked.read(5s, "}}");
  EXPECT_EQ(text.rfind("HTTP/1.1 413", 0), 0u) << text.substr(0, 200);
}

TEST_F(ServerTest, NonJsonBodyIs415) {
  start();
  auto r = fetch(base_ + "/api/echo", "POST", "hello", {"Content-Type: text/plain"});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(error_code_of(r), "UNSUPPORTED_MEDIA_TYPE");
  r = fetch(base_ + "/api/echo", "POST", "{}", {"Content-Type: Application/JSON; charset=utf-8"});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ServerTest, WorkRoutesAreRateLimitedPerClient) {
  ServerOptions o;
  o.work_limit_per_minute = 3;
  o.trusted_proxies = {"127.0.0.1"};
  start(o);
  for (int i = 0; i < 3; ++i) {
    auto r = fetch(base_ + "/api/work", "POST");
    ASSERT_EQ(r.status, 202) << i << r.body;
    EXPECT_EQ(r.header("ratelimit-policy"), "3;w=60");
    EXPECT_EQ(r.header("ratelimit"), "limit=3, remaining=" + std::to_string(2 - i) +
                                         ", reset=" + std::to_string(20 * (i + 1)));
  }
  auto r = fetch(base_ + "/api/work", "POST");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(error_code_of(r), "RATE_LIMITED");
  EXPECT_EQ(r.header("retry-after"), "20");
  EXPECT_EQ(r.header("ratelimit"), "limit=3, remaining=0, reset=60");
  // Reads have their own budget.
  EXPECT_EQ(fetch(base_ + "/api/items/1").status, 200);
  // Another client behind the trusted proxy has its own budget.
  r = fetch(base_ + "/api/work", "POST", {}, {"X-Forwarded-For: 198.51.100.4"});
  EXPECT_EQ(r.status, 202);
  // The window moves on with the (injected) clock.
  clock_.advance(20s);
  EXPECT_EQ(fetch(base_ + "/api/work", "POST").status, 202);
  EXPECT_EQ(fetch(base_ + "/api/work", "POST").status, 429);
}

TEST_F(ServerTest, ClientIpFromTrustedProxyOnly) {
  ServerOptions o;
  o.trusted_proxies = {"127.0.0.0/8"};
  start(o);
  auto r = fetch(base_ + "/api/items/1", "GET", {}, {"X-Forwarded-For: 6.6.6.6, 203.0.113.9"});
  EXPECT_EQ(boost::json::parse(r.body).at("data").at("client_ip").as_string(), "203.0.113.9");
  server_.reset();
  start();  // no trusted proxies: the header is ignored
  r = fetch(base_ + "/api/items/1", "GET", {}, {"X-Forwarded-For: 203.0.113.9"});
  EXPECT_EQ(boost::json::parse(r.body).at("data").at("client_ip").as_string(), "127.0.0.1");
}

TEST_F(ServerTest, HandlerErrorsAreRenderedWithoutInternals) {
  start();
  auto r = fetch(base_ + "/api/fail/conflict");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_code_of(r), "CONFLICT");
  EXPECT_NE(r.body.find("a restore is already running"), std::string::npos);
  EXPECT_EQ(r.body.find("pg_secret"), std::string::npos);
  r = fetch(base_ + "/api/fail/other");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(error_code_of(r), "INTERNAL");
  EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body;
}

TEST_F(ServerTest, MetricsByRoutePattern) {
  start();
  fetch(base_ + "/api/items/1");
  fetch(base_ + "/api/items/2");
  fetch(base_ + "/api/nothing");
  fetch(base_ + "/api/fail/conflict");
  // A request is recorded once its response is written, which may be just
  // after the client has read it: poll for a moment.
  const std::vector<std::string> want = {
      "tb_http_requests_total{method=\"GET\",route=\"/api/items/{id}\",status=\"200\"} 2\n",
      "tb_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n",
      "tb_http_requests_total{method=\"GET\",route=\"/api/fail/{kind}\",status=\"409\"} 1\n",
      "tb_http_request_duration_seconds_count{method=\"GET\",route=\"/api/items/{id}\"} 2\n",
  };
  std::string text;
  auto all_there = [&] {
    for (const auto& w : want) {
      if (text.find(w) == std::string::npos) return false;
    }
    return true;
  };
  for (int i = 0; i < 300 && !all_there(); ++i) {
    std::this_thread::sleep_for(10ms);
    text = registry_.render();
  }
  for (const auto& w : want) EXPECT_NE(text.find(w), std::string::npos) << w << "\nin:\n" << text;
}

}  // namespace
}  // namespace tb::http::test
