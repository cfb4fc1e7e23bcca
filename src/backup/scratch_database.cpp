#include "backup/scratch_database.hpp"

#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "db/connection.hpp"
#include "db/conninfo.hpp"

namespace tb::backup {
namespace {

void drop_objects(db::Connection& admin, const std::string& name) {
  // FORCE: a replay killed mid-way may still hold a session on it.
  admin.exec_script(formatted(admin, "DROP DATABASE IF EXISTS %I WITH (FORCE)", name));
  admin.exec_script(formatted(admin, "DROP ROLE IF EXISTS %I", name));
}

[[noreturn]] void rethrow_with_privilege_hint(const db::DbError& e) {
  throw Error(ErrorCode::kInternal,
              "the verification could not create its scratch database: the service's role in "
              "the VERIFY_DATABASE_URL cluster needs CREATEDB and CREATEROLE",
              e.detail());
}

}  // namespace

ScratchDatabase::ScratchDatabase(const std::string& admin_conninfo, const std::string& token,
                                 std::chrono::seconds valid_for)
    : admin_conninfo_(admin_conninfo), name_(std::string(kScratchPrefix) + token) {
  if (token.empty() || token.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Error(ErrorCode::kInternal, "internal error", "bad scratch database token: " + token);
  const std::string password = random_password();
  auto admin = db::Connection::open(admin_conninfo_);
  try {
    // A name left by an attempt of the same job that died: start afresh.
    drop_objects(admin, name_);
    const std::string until =
        admin.query("SELECT (now() + $1::interval)::text", valid_for + std::chrono::minutes(10))
            .text(0, 0);
    admin.exec_script(formatted(admin,
                                "CREATE ROLE %I LOGIN NOINHERIT NOCREATEDB NOCREATEROLE "
                                "PASSWORD %L VALID UNTIL %L",
                                name_, scram_verifier(admin, name_, password), until));
    // CREATE DATABASE cannot run in a transaction block: each its own statement.
    admin.exec_script(formatted(admin, "CREATE DATABASE %I TEMPLATE template0", name_));
    admin.exec_script(formatted(admin,
                                "REVOKE ALL ON DATABASE %1$I FROM PUBLIC; "
                                "GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %1$I TO %1$I",
                                name_));
  } catch (const db::DbError& e) {
    drop();
    if (e.sqlstate() == "42501") rethrow_with_privilege_hint(e);  // insufficient_privilege
    throw;
  } catch (...) {
    drop();
    throw;
  }
  auto options = db::parse_conninfo(admin_conninfo_);
  std::erase_if(options, [](const auto& o) {
    return o.first == "user" || o.first == "password" || o.first == "dbname";
  });
  options.emplace_back("user", name_);
  options.emplace_back("password", password);
  options.emplace_back("dbname", name_);
  identity_.owner = name_;
  identity_.login = name_;
  identity_.conninfo = db::format_conninfo(options);
}

ScratchDatabase::~ScratchDatabase() {
  drop();
}

std::map<std::string, std::uint64_t> ScratchDatabase::count_rows(const std::string& schema) {
  auto conn = db::Connection::open(identity_.conninfo);
  conn.exec_script("SET search_path = pg_catalog, pg_temp; SET row_security = off");
  auto tables = conn.query(
      "SELECT c.relname::text, c.relforcerowsecurity FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
      schema);
  std::map<std::string, std::uint64_t> out;
  for (int i = 0; i < tables.rows(); ++i) {
    const std::string table = tables.text(i, 0);
    if (tables.boolean(i, 1)) {
      conn.exec_script(
          formatted(conn, "ALTER TABLE %I.%I NO FORCE ROW LEVEL SECURITY", schema, table));
    }
    out[table] = static_cast<std::uint64_t>(
        conn.exec(formatted(conn, "SELECT count(*) FROM %I.%I", schema, table)).int64(0, 0));
  }
  return out;
}

void ScratchDatabase::drop() noexcept {
  if (dropped_) return;
  dropped_ = true;
  try {
    auto admin = db::Connection::open(admin_conninfo_);
    drop_objects(admin, name_);
  } catch (const std::exception& e) {
    // The start-up sweep removes it later.
    spdlog::warn("verify: could not drop scratch database and role {}: {}", name_, e.what());
  }
}

int sweep_scratch(const std::string& admin_conninfo,
                  const std::function<bool(const std::string& token)>& in_use) {
  auto admin = db::Connection::open(admin_conninfo);
  const std::string pattern = "^" + std::string(kScratchPrefix) + "[0-9a-f]+$";
  auto names = admin.query(
      "SELECT datname::text FROM pg_catalog.pg_database WHERE datname ~ $1 UNION "
      "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname ~ $1",
      pattern);
  int dropped = 0;
  for (int i = 0; i < names.rows(); ++i) {
    const std::string name = names.text(i, 0);
    if (in_use(name.substr(kScratchPrefix.size()))) continue;
    try {
      drop_objects(admin, name);
      ++dropped;
      spdlog::info("verify: removed the left-over scratch database {}", name);
    } catch (const db::DbError& e) {
      spdlog::warn("verify: could not remove the left-over scratch database {}: {}", name,
                   e.what());
    }
  }
  return dropped;
}

}  // namespace tb::backup
