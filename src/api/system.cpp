// Liveness, readiness, metrics, the UI's files, the OpenAPI description, and
// GET /api/system (what this server offers the UI).
#include <boost/json.hpp>

#include "api/routes.hpp"
#include "auth/base64url.hpp"
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

// The exposition without the series that carry a `project` label. Label names
// are sorted and a label value's quotes are escaped, so `{project="` or
// `,project="` in a sample line can only be that label.
std::string without_project_series(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    auto end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string_view line(text.data() + pos, end - pos);
    bool project = line.find("{project=\"") != std::string_view::npos ||
                   line.find(",project=\"") != std::string_view::npos;
    if (line.starts_with("#") || !project) out.append(line);
    pos = end;
  }
  return out;
}

// Who sees what on /metrics: with METRICS_TOKEN, only its bearer, and
// everything; without it, everything on the scrapers' own listener
// (METRICS_LISTEN), and on the public listener only what names no project.
http::Response metrics_response(const ApiContext& ctx, const http::Request& req) {
  const std::string& token = ctx.config.metrics_token;
  bool everything = ctx.config.metrics_port.has_value();
  if (!token.empty()) {
    const std::string authorization = req.header("Authorization");
    if (!auth::constant_time_equal(auth::bearer_token(authorization), token)) {
      throw Error(ErrorCode::kUnauthorized, "a valid metrics token is required",
                  "wrong METRICS_TOKEN");
    }
    everything = true;
  }
  http::Response res;
  res.content_type = std::string(metrics::kContentType);
  res.body = everything ? ctx.metrics.render() : without_project_series(ctx.metrics.render());
  return res;
}

http::Route metrics_route(ApiContext& ctx) {
  return {"GET", "/metrics", http::RateClass::kNone,
          [&ctx](http::Request& req) { return metrics_response(ctx, req); }};
}

}  // namespace

std::vector<http::Route> metrics_routes(ApiContext& ctx) {
  return {metrics_route(ctx)};
}

std::vector<http::Route> system_routes(ApiContext& ctx) {
  using http::RateClass;
  using http::Request;
  std::vector<http::Route> routes = {
      {"GET", "/healthz", RateClass::kNone,
       [](Request&) {
         return http::json_data(boost::json::object{{"status", "ok"}});
       }},
      {"GET", "/readyz", RateClass::kNone,
       [&ctx](Request&) {
         // Ready means the database answers: a fresh query, not a cached flag.
         auto conn = ctx.pool.acquire(std::chrono::seconds(2));
         conn->exec("SELECT 1");
         return http::json_data(boost::json::object{{"status", "ready"}});
       }},
      {"GET", "/", RateClass::kNone, [](Request&) { return serve_asset("/"); }},
      {"GET", "/docs", RateClass::kNone, [](Request&) { return serve_asset("/docs"); }},
      {"GET", "/assets/{*path}", RateClass::kNone,
       [](Request& req) { return serve_asset("/assets/" + req.params["path"]); }},
      {"GET", "/api/openapi.json", RateClass::kNone,
       [](Request&) { return serve_asset("/openapi.json"); }},
      // What this server can do, for the UI: the destinations it may offer,
      // and whether projects may turn encryption on (it holds an age identity).
      {"GET", "/api/system", RateClass::kRead,
       [&ctx](Request& req) {
         authenticate(ctx, req);
         boost::json::array destinations{"local"};
         if (!ctx.config.telegram_bot_token.empty()) destinations.push_back("telegram");
         if (ctx.s3.configured) destinations.push_back("s3");
         // How long a restore keeps the schema it set aside, for the restore dialog.
         return http::json_data(
             boost::json::object{{"destinations", std::move(destinations)},
                                 {"encryption", ctx.encryption},
                                 {"restore_keep_days", ctx.config.restore_keep_days},
                                 // Whether backups can be verified (VERIFY_DATABASE_URL).
                                 {"verification", !ctx.config.verify_database_url.empty()}});
       }},
  };
  // With METRICS_LISTEN, /metrics is served on that listener only.
  if (!ctx.config.metrics_port) routes.push_back(metrics_route(ctx));
  return routes;
}

}  // namespace tb::api
