#include "app/token_command.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <stdexcept>

#include "auth/jwt.hpp"
#include "core/clock.hpp"

namespace tb::app {

std::chrono::seconds parse_ttl(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty --ttl");
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || n <= 0)
    throw std::invalid_argument("--ttl must look like 90s, 30m, 24h or 7d");
  std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  std::int64_t mult = 1;
  if (unit == "" || unit == "s")
    mult = 1;
  else if (unit == "m")
    mult = 60;
  else if (unit == "h")
    mult = 3600;
  else if (unit == "d")
    mult = 86400;
  else
    throw std::invalid_argument("--ttl must look like 90s, 30m, 24h or 7d");
  if (n > 366 * 86400 / mult) throw std::invalid_argument("--ttl is longer than a year");
  return std::chrono::seconds(n * mult);
}

std::string mint_token(const config::Config& config, const TokenOptions& options) {
  if (config.jwt_secret.empty()) {
    throw std::invalid_argument(
        "minting needs JWT_SECRET (tokens for RS256/ES256 come from your identity provider)");
  }
  if (options.projects.empty() && options.role != "admin") {
    throw std::invalid_argument("give --project (repeatable) or --role admin");
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 RealClock::instance().now().time_since_epoch())
                 .count();
  boost::json::object claims;
  claims["sub"] = options.subject;
  claims["iat"] = now;
  claims["exp"] = now + parse_ttl(options.ttl).count();
  if (options.projects.size() == 1) claims["project_id"] = options.projects.front();
  if (options.projects.size() > 1) {
    boost::json::array arr;
    for (const auto& p : options.projects) arr.emplace_back(p);
    claims["projects"] = std::move(arr);
  }
  if (!options.role.empty()) claims["role"] = options.role;
  if (!config.jwt_issuer.empty()) claims["iss"] = config.jwt_issuer;
  if (!config.jwt_audience.empty()) claims["aud"] = config.jwt_audience;
  return auth::mint_hs256(config.jwt_secret, claims);
}

}  // namespace tb::app
