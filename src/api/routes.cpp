#include "api/routes.hpp"

namespace tb::api {

std::vector<http::Route> build_routes(ApiContext& ctx) {
  std::vector<http::Route> all;
  for (auto part : {system_routes(ctx), project_routes(ctx), backup_routes(ctx), job_routes(ctx),
                    restore_routes(ctx), fleet_routes(ctx)}) {
    for (auto& r : part) all.push_back(std::move(r));
  }
  return all;
}

}  // namespace tb::api
