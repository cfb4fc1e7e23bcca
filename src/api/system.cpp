// Liveness, readiness, metrics, the UI's files and the OpenAPI description.
#include "api/routes.hpp"

#include <boost/json.hpp>

#include "web/assets.hpp"

namespace tb::api {
namespace {

http::Response asset_response(const web::Asset& asset) {
  http::Response res;
  res.content_type = std::string(asset.content_type);
  res.body = std::string(asset.data);
  res.headers.emplace_back("ETag", std::string(asset.etag));
  if (asset.content_type.starts_with("text/html")) {
    res.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    res.headers.emplace_back("Cache-Control", "no-cache");
  } else {
    res.headers.emplace_back("Cache-Control", "public, max-age=300");
  }
  return res;
}

http::Response serve_asset(std::string_view path) {
  const auto* asset = web::find_asset(path);
  if (asset == nullptr) throw_not_found("no such page");
  return asset_response(*asset);
}

}  // namespace

std::vector<http::Route> system_routes(ApiContext& ctx) {
  using http::RateClass;
  using http::Request;
  return {
      {"GET", "/healthz", RateClass::kNone,
       [](Request&) { return http::json_data(boost::json::object{{"status", "ok"}}); }},
      {"GET", "/readyz", RateClass::kNone,
       [&ctx](Request&) {
         // Ready means the database answers: a fresh query, not a cached flag.
         auto conn = ctx.pool.acquire(std::chrono::seconds(2));
         conn->exec("SELECT 1");
         return http::json_data(boost::json::object{{"status", "ready"}});
       }},
      {"GET", "/metrics", RateClass::kNone,
       [&ctx](Request&) {
         http::Response res;
         res.content_type = std::string(metrics::kContentType);
         res.body = ctx.metrics.render();
         return res;
       }},
      {"GET", "/", RateClass::kNone, [](Request&) { return serve_asset("/"); }},
      {"GET", "/docs", RateClass::kNone, [](Request&) { return serve_asset("/docs"); }},
      {"GET", "/assets/{*path}", RateClass::kNone,
       [](Request& req) { return serve_asset("/assets/" + req.params["path"]); }},
      {"GET", "/api/openapi.json", RateClass::kNone,
       [](Request&) { return serve_asset("/openapi.json"); }},
  };
}

}  // namespace tb::api
