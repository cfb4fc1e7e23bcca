#include "backup/replay_identity.hpp"

#include <libpq-fe.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "core/error.hpp"
#include "db/conninfo.hpp"

namespace tb::backup {
namespace {

constexpr std::size_t kMaxIdentifier = 63;  // NAMEDATALEN - 1

// Roles that hold the service's privileges (or every privilege) are never a
// replay's owner. A role that does not exist cannot own anything either.
bool unusable_as_owner(db::Connection& service, const std::string& role) {
  auto r = service.query(
      "SELECT r.rolsuper OR pg_catalog.pg_has_role(r.oid, current_user, 'USAGE') "
      "FROM pg_catalog.pg_roles r WHERE r.rolname = $1",
      role);
  return r.empty() || r.boolean(0, 0);
}

void ensure_role(db::Connection& service, const std::string& role, const std::string& attributes) {
  if (service.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", role).empty()) {
    service.exec_script(formatted(service, "CREATE ROLE %I " + attributes, role));
  }
}

[[noreturn]] void rethrow_with_privilege_hint(const db::DbError& e) {
  throw Error(ErrorCode::kInternal,
              "the restore could not prepare its database roles: the service's database role needs "
              "CREATEROLE and "
              "CREATE on the database WITH GRANT OPTION (see the README's privilege model)",
              e.detail());
}

}  // namespace

// 32 random bytes as hex: a password that needs no quoting.
std::string random_password() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw Error(ErrorCode::kInternal, "internal error", "RAND_bytes failed");
  std::string out;
  char hex[3];
  for (unsigned char b : bytes) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    out += hex;
  }
  return out;
}

// Statement text with identifiers quoted by the server (format %I/%L), so no
// name is ever spliced by hand.
std::string formatted(db::Connection& service, const std::string& format, const std::string& a,
                      const std::string& b, const std::string& c) {
  return service
      .query("SELECT pg_catalog.format($1, $2::text, $3::text, $4::text)", format, a, b, c)
      .text(0, 0);
}

// The password as a SCRAM verifier computed here, so the clear text never
// reaches the server's statement log.
std::string scram_verifier(db::Connection& service, const std::string& login,
                           const std::string& password) {
  std::unique_ptr<char, decltype(&PQfreemem)> v(
      PQencryptPasswordConn(service.raw(), password.c_str(), login.c_str(), "scram-sha-256"),
      &PQfreemem);
  if (!v)
    throw Error(ErrorCode::kInternal, "internal error",
                std::string("PQencryptPasswordConn: ") + PQerrorMessage(service.raw()));
  return v.get();
}

std::string project_role_name(std::string_view prefix, std::string_view slug) {
  std::string name = std::string(prefix) + std::string(slug);
  if (name.size() <= kMaxIdentifier) return name;
  // FNV-1a of the full name: short, stable, tells long names apart.
  std::uint32_t h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  char hex[16];
  std::snprintf(hex, sizeof hex, "_%08x", h);
  return name.substr(0, kMaxIdentifier - 9) + hex;
}

std::string schema_owner(db::Connection& service, const std::string& schema) {
  auto r = service.query(
      "SELECT r.rolname FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = "
      "n.nspowner "
      "WHERE n.nspname = $1",
      schema);
  return r.empty() ? std::string() : r.text(0, 0);
}

ReplayIdentity prepare_replay_identity(db::Connection& service, const std::string& service_conninfo,
                                       const std::string& slug, const std::string& recorded_owner,
                                       std::chrono::seconds valid_for) {
  const std::string schema = "tenant_" + slug;
  ReplayIdentity id;
  id.login = project_role_name("tb_replay_", slug);
  const std::string password = random_password();
  try {
    db::Transaction tx(service);
    const std::string current = schema_owner(service, schema);
    const bool current_privileged = !current.empty() && unusable_as_owner(service, current);
    id.owner = !current.empty() ? current : recorded_owner;
    if (id.owner.empty() || current_privileged || unusable_as_owner(service, id.owner)) {
      id.owner = project_role_name("tb_owner_", slug);
      ensure_role(service, id.owner, "NOLOGIN");
      if (unusable_as_owner(service, id.owner)) {
        throw Error(ErrorCode::kInternal,
                    "the restore cannot run: its owner role has the service's privileges",
                    "role " + id.owner + " is a superuser or a member of the service's role");
      }
    }
    id.aside_through_service = current_privileged;

    ensure_role(service, id.login, "LOGIN");
    const std::string until =
        service.query("SELECT (now() + $1::interval)::text", valid_for + std::chrono::minutes(10))
            .text(0, 0);
    // Only what a CREATEROLE (non-superuser) service may say: a new role has
    // no superuser, replication or BYPASSRLS; that it still has none is
    // checked below, since someone may have altered it since.
    service.exec_script(formatted(
        service,
        "ALTER ROLE %I WITH LOGIN INHERIT NOCREATEDB NOCREATEROLE PASSWORD %L VALID UNTIL %L",
        id.login, scram_verifier(service, id.login, password), until));
    if (service
            .query("SELECT rolsuper OR rolreplication OR rolbypassrls FROM pg_catalog.pg_roles "
                   "WHERE rolname = $1",
                   id.login)
            .boolean(0, 0)) {
      throw Error(ErrorCode::kInternal,
                  "the restore cannot run: its replay login has been given extra privileges",
                  "role " + id.login +
                      " is a superuser, or has REPLICATION or BYPASSRLS; drop it to let the "
                      "service re-create it");
    }
    // Member of the owner and of nothing else.
    auto others = service.query(
        "SELECT r.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = "
        "m.roleid "
        "WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) AND r.rolname "
        "<> $2",
        id.login, id.owner);
    for (int i = 0; i < others.rows(); ++i) {
      service.exec_script(formatted(service, "REVOKE %I FROM %I", others.text(i, 0), id.login));
    }
    if (service.query("SELECT pg_catalog.pg_has_role($1, $2, 'MEMBER')", id.login, id.owner)
            .boolean(0, 0) == false) {
      service.exec_script(formatted(service, "GRANT %I TO %I", id.owner, id.login));
    }
    // Granted once: a GRANT rewrites the catalog row even when nothing
    // changes, which a concurrent restore's guard would see.
    auto held = service.query(
        "SELECT pg_catalog.has_database_privilege($1, current_database(), 'CREATE'), "
        "pg_catalog.has_function_privilege($1, 'control_plane.set_schema_aside(text, text)', "
        "'EXECUTE') AND "
        "pg_catalog.has_function_privilege($1, 'control_plane.restore_may_commit(uuid, int, "
        "text)', 'EXECUTE') AND "
        "pg_catalog.has_schema_privilege($1, 'control_plane', 'USAGE')",
        id.login);
    if (!held.boolean(0, 0)) {
      service.exec_script(formatted(service, "GRANT CREATE ON DATABASE %I TO %I",
                                    service.query("SELECT current_database()").text(0, 0),
                                    id.login));
    }
    if (!held.boolean(0, 1)) {
      service.exec_script(
          formatted(service,
                    "GRANT USAGE ON SCHEMA control_plane TO %1$I; "
                    "GRANT EXECUTE ON FUNCTION control_plane.set_schema_aside(text, text), "
                    "control_plane.restore_may_commit(uuid, int, text) TO %1$I",
                    id.login));
    }
    service.query(
        "INSERT INTO control_plane.replay_logins (login, schema_name) VALUES ($1, $2) "
        "ON CONFLICT (login) DO UPDATE SET schema_name = EXCLUDED.schema_name",
        id.login, schema);
    tx.commit();
  } catch (const db::DbError& e) {
    if (e.sqlstate() == "42501") rethrow_with_privilege_hint(e);  // insufficient_privilege
    throw;
  }

  auto options = db::parse_conninfo(service_conninfo);
  std::erase_if(options, [](const auto& o) { return o.first == "user" || o.first == "password"; });
  options.emplace_back("user", id.login);
  options.emplace_back("password", password);
  id.conninfo = db::format_conninfo(options);
  return id;
}

void retire_replay_identity(db::Connection& service, const ReplayIdentity& identity) noexcept {
  try {
    service.exec_script(
        formatted(service, "ALTER ROLE %I WITH NOLOGIN PASSWORD NULL", identity.login));
  } catch (const std::exception& e) {
    spdlog::warn("restore: could not disable the replay login {}: {}", identity.login, e.what());
  }
}

}  // namespace tb::backup
