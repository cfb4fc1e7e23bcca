// store/projects: the platform's projects (tenants). The tenant schema of a
// project is always "tenant_" + slug, where slug comes from this table (never
// from request input); the database CHECKs slug ^[a-z0-9_]{1,56}$ and id
// ^[A-Za-z0-9_-]{1,100}$, and that a new or changed slug does not contain
// "__pre_restore" (a restore's set-aside schema is "<schema>__pre_restore_<time>").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "db/connection.hpp"

namespace tb::store {

struct Project {
  std::string id;
  std::string slug;
  std::string name;
  SystemTime created_at{};

  std::string schema() const { return "tenant_" + slug; }
};

std::optional<Project> get_project(db::Connection& conn, const std::string& id);
// Inserts or updates slug and name (seeding, tests). A slug containing
// "__pre_restore" is refused (tb::Error kValidation, field "slug").
Project upsert_project(db::Connection& conn, const std::string& id, const std::string& slug,
                       const std::string& name = {});
std::vector<Project> list_projects(db::Connection& conn);

}  // namespace tb::store
