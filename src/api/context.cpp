#include "api/context.hpp"

#include <spdlog/spdlog.h>

#include "core/ids.hpp"
#include "store/audit.hpp"

namespace tb::api {

auth::Principal authenticate(const ApiContext& ctx, const http::Request& req) {
  // bearer_token() returns a view into the header: keep the string alive.
  const std::string authorization = req.header("Authorization");
  return ctx.verifier.verify(auth::bearer_token(authorization), ctx.clock.now());
}

void require_access(const auth::Principal& who, std::string_view project_id) {
  if (!who.can_access(project_id)) {
    throw Error(ErrorCode::kForbidden,
                "this token does not give access to project '" + std::string(project_id) + "'");
  }
}

void record_audit(db::Connection& conn, const http::Request& req, const auth::Principal& who,
                  std::string_view project_id, std::string_view action, std::string_view target,
                  std::string_view outcome) {
  try {
    store::AuditEntry entry;
    entry.project_id = std::string(project_id);
    entry.actor = who.subject;
    entry.action = std::string(action);
    entry.target = std::string(target);
    entry.ip = req.client_ip;
    entry.outcome = std::string(outcome);
    store::append_audit(conn, entry);
  } catch (const std::exception& e) {
    // The action itself succeeded or failed on its own; a lost audit line is
    // logged loudly rather than turning a good answer into an error.
    spdlog::error("audit write failed for {} {} on {}: {}", action, target, project_id, e.what());
  }
}

std::string require_uuid_param(const http::Request& req, std::string_view name,
                               std::string_view what) {
  auto it = req.params.find(name);
  if (it == req.params.end() || !is_uuid(it->second))
    throw_not_found(std::string(what) + " not found");
  return it->second;
}

}  // namespace tb::api
