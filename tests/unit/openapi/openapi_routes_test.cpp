// The OpenAPI description (web/openapi.json, served at /api/openapi.json and
// rendered by /docs) stays true: every route of the real router is described
// with its method. (The reverse is not required: the description may also
// cover routes that are still being built.)
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>

#include "api/routes.hpp"
#include "auth/jwt.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "db/pool.hpp"
#include "metrics/registry.hpp"
#include "web/assets.hpp"

namespace tb::api {
namespace {

// The router writes a catch-all segment as {*name}; OpenAPI has only {name}.
std::string openapi_path(std::string pattern) {
  for (auto pos = pattern.find("{*"); pos != std::string::npos; pos = pattern.find("{*"))
    pattern.erase(pos + 1, 1);
  return pattern;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::set<std::string> router_operations() {
  config::Config cfg;
  db::Pool pool("dbname=unused", 1);  // opens connections lazily: none is opened here
  auth::VerifierOptions opts;
  opts.secret = std::string(48, 'k');
  auth::JwtVerifier verifier(opts);
  metrics::Registry registry;
  ApiContext ctx{cfg, pool, verifier, RealClock::instance(), registry, "link-key"};
  std::set<std::string> ops;
  for (const auto& r : build_routes(ctx))
    ops.insert(lower(r.method) + " " + openapi_path(r.pattern));
  return ops;
}

std::set<std::string> described_operations() {
  const auto* spec = web::find_asset("/api/openapi.json");
  EXPECT_NE(spec, nullptr);
  if (spec == nullptr) return {};
  std::set<std::string> ops;
  const auto doc = boost::json::parse(spec->data).as_object();
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const char* m : {"get", "put", "post", "delete", "patch", "head", "options"}) {
      if (item.as_object().contains(m)) ops.insert(std::string(m) + " " + std::string(path));
    }
  }
  return ops;
}

TEST(OpenApi, EveryRouteOfTheRouterIsDescribed) {
  const auto routes = router_operations();
  const auto described = described_operations();
  ASSERT_GE(routes.size(), 15u);
  for (const auto& op : routes)
    EXPECT_TRUE(described.contains(op)) << "not in web/openapi.json: " << op;
}

}  // namespace
}  // namespace tb::api
