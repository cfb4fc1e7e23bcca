#pragma once
// db/conninfo: reading and writing libpq connection strings.
//
// The service is configured with one DATABASE_URL (keyword=value string or
// postgresql:// URI); its children (pg_dump, psql, pg_restore) and its job
// sessions need variants of it: without the password (which travels in
// PGPASSWORD, never argv), or with an application_name. libpq parses it
// (PQconninfoParse), so every form libpq accepts works the same here.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tb::db {

using ConninfoOptions = std::vector<std::pair<std::string, std::string>>;

// The keywords the string sets (non-empty values), in libpq's order. Throws
// tb::Error(kInternal, "invalid database connection settings") with libpq's
// reason as detail; never the string itself, which may hold a password.
ConninfoOptions parse_conninfo(const std::string& conninfo);

// A keyword=value string of `options`, each value single-quoted with '\''
// and '\\' escaped.
std::string format_conninfo(const ConninfoOptions& options);

// A connection string taken apart for a child process (pg_dump, psql): the
// password, which travels in PGPASSWORD, and the rest as a keyword=value
// string for --dbname. Throws like parse_conninfo.
struct ChildConninfo {
  std::string conninfo;  // without the password
  std::string password;  // "" when there is none
};
ChildConninfo split_password(const std::string& conninfo);

}  // namespace tb::db
