// What every API handler may use, built once by app/ and shared read-only
// (the pool and registry are thread-safe). Also the checks that every
// project-scoped handler runs in the same order: authenticate (401), then the
// project check (403 when the token does not cover it, 404 when it does not
// exist), so a forbidden request changes nothing.
#pragma once

#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "auth/principal.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "db/connection.hpp"
#include "db/pool.hpp"
#include "http/types.hpp"
#include "metrics/registry.hpp"
#include "workflows/export_destinations.hpp"
#include "workflows/options.hpp"

namespace tb::api {

struct ApiContext {
  const config::Config& config;
  db::Pool& pool;
  const auth::JwtVerifier& verifier;
  const Clock& clock;
  metrics::Registry& metrics;
  std::string link_key;       // HMAC key of signed download links
  workflows::S3Options s3{};  // the s3 destination (s3.configured: S3_BUCKET set)
  bool encryption = false;    // the service holds an age identity (AGE_IDENTITY_FILE)
};

using workflows::kNoTelegramBot;

// What this server can send backups to (its configuration, not a request's).
inline workflows::ServableDestinations servable_destinations(const ApiContext& ctx) {
  return {!ctx.config.telegram_bot_token.empty(), ctx.s3.configured};
}

// 401 unless the request carries a valid bearer token.
auth::Principal authenticate(const ApiContext& ctx, const http::Request& req);
// 403 unless the principal covers the project.
void require_access(const auth::Principal& who, std::string_view project_id);

// One audit entry (never fails the request: an audit write error is logged).
void record_audit(db::Connection& conn, const http::Request& req, const auth::Principal& who,
                  std::string_view project_id, std::string_view action, std::string_view target,
                  std::string_view outcome);

// A path or query value that must be a uuid; anything else is "not found".
std::string require_uuid_param(const http::Request& req, std::string_view name,
                               std::string_view what);

}  // namespace tb::api
