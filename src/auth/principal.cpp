#include "auth/principal.hpp"

#include <algorithm>

namespace tb::auth {

bool Principal::can_access(std::string_view project_id) const {
  if (admin) return true;
  if (project_id.empty()) return false;
  return std::find(projects.begin(), projects.end(), project_id) != projects.end();
}

}  // namespace tb::auth
