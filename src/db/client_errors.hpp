// A libpq client's error line (pg_dump, psql, pg_restore) in words a project
// owner can read without learning the service's internals: a failed
// connection becomes one sentence (its host, port, role and database stay in
// the log); anything else keeps its text with internal names hidden
// (hide_internals).
#pragma once

#include <string>
#include <string_view>

namespace tb::db {

std::string public_client_error(std::string_view line);

}  // namespace tb::db
