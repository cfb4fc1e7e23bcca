// The route table of the whole API: one entry per method and path, with its
// rate-limit class. Each resource file contributes its routes; handlers are
// thin: authenticate, parse and validate, call one function, render.
#pragma once

#include <vector>

#include "api/context.hpp"
#include "http/types.hpp"

namespace tb::api {

std::vector<http::Route> build_routes(ApiContext& ctx);

// Per resource (api/<resource>.cpp).
std::vector<http::Route> system_routes(ApiContext& ctx);
std::vector<http::Route> project_routes(ApiContext& ctx);
std::vector<http::Route> backup_routes(ApiContext& ctx);
std::vector<http::Route> job_routes(ApiContext& ctx);
std::vector<http::Route> restore_routes(ApiContext& ctx);
std::vector<http::Route> fleet_routes(ApiContext& ctx);

// /metrics alone, for the scrapers' listener (METRICS_LISTEN).
std::vector<http::Route> metrics_routes(ApiContext& ctx);

}  // namespace tb::api
