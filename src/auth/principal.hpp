// Who is calling: the identity and the projects a verified JWT grants.
//
// Invariant: a Principal only comes out of JwtVerifier::verify, so its fields
// are backed by a valid signature. A token with neither `project_id`/`projects`
// nor `role: admin` is still a valid identity: it yields a Principal with no
// projects, and every project check then answers 403 (401 is for a missing or
// invalid token, 403 for a valid token that does not cover the project).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tb::auth {

struct Principal {
  std::string subject;  // `sub`
  std::vector<std::string>
      projects;        // from "project_id" (string) and/or "projects" (array of strings)
  bool admin = false;  // role == "admin": may act on every project
  std::string role;    // raw `role` claim ("" when absent)

  bool can_access(std::string_view project_id) const;
};

}  // namespace tb::auth
