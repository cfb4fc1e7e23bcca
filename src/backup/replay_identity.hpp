// Who a restore's replay runs as. Tenant code (functions, triggers, CHECK
// constraints, defaults, index expressions) runs while a dump is replayed and
// afterwards; it must never run with the service's privileges.
//
// `SET ROLE` inside the service's own session is not enough: any function the
// replay calls can `RESET ROLE` and is the service again. So the replay runs
// in a session whose *login* role holds nothing of the service's:
//
//   owner   the role that owns the tenant schema: its current owner, else the
//           owner recorded with the backup. When that role has the service's
//           privileges (it is the service's role, a role the service's role
//           belongs to, or a superuser — e.g. the `make run` demo, where the
//           service created the schema), the project's own role
//           `tb_owner_<slug>` (NOLOGIN, no attributes), created on demand.
//   login   `tb_replay_<slug>`: LOGIN, no attributes, a member of `owner`
//           (INHERIT), CREATE on the database (to create the schema) and
//           EXECUTE on two control_plane functions (set the live schema aside
//           when its owner is privileged; check the job still owns its
//           attempt). A fresh random password each restore, valid for the
//           restore's timeout; NOLOGIN again afterwards.
//
// The replay connects as `login`; at its end `REASSIGN OWNED BY CURRENT_USER
// TO owner` gives every restored object to the owner, so the tenant's next
// migration (ALTER TABLE ...) works and its SECURITY DEFINER functions run as
// the owner. The service's role needs CREATEROLE, and CREATE on the database
// with GRANT OPTION (or to own it); the README's privilege model says so.
#pragma once

#include <chrono>
#include <string>

#include "db/connection.hpp"

namespace tb::backup {

struct ReplayIdentity {
  std::string owner;     // owns the restored objects
  std::string login;     // the replay session's login role
  std::string conninfo;  // the service's conninfo with user=login and its one-time password
  // The live schema belongs to a privileged role, so `login` cannot rename
  // it: the replay calls control_plane.set_schema_aside() (SECURITY DEFINER,
  // allowed only for the schema registered to its session's login).
  bool aside_through_service = false;
};

// Shared with the scratch databases of verifications (scratch_database.hpp):
// 32 random bytes as hex, a password that needs no quoting.
std::string random_password();
// Statement text with identifiers quoted by the server (format's %I/%L), so
// no name is ever spliced by hand.
std::string formatted(db::Connection& service, const std::string& format, const std::string& a,
                      const std::string& b = {}, const std::string& c = {});
// The password as a SCRAM verifier computed here, so the clear text never
// reaches the server's statement log.
std::string scram_verifier(db::Connection& service, const std::string& login,
                           const std::string& password);

// "tb_owner_acme" / "tb_replay_acme": `prefix` + slug within PostgreSQL's
// 63-byte identifier limit (a long slug is cut and given an 8-hex hash).
std::string project_role_name(std::string_view prefix, std::string_view slug);

// The schema's owner now, or "" when the schema does not exist.
std::string schema_owner(db::Connection& service, const std::string& schema);

// Creates or updates the roles above for `schema` (= "tenant_" + slug) and
// returns how to connect. `recorded_owner` is the owner stored with the
// backup ("" if none). `service_conninfo` is the service's own connection
// string (host, port, database, TLS settings are kept; user and password are
// replaced). Throws tb::Error kInternal with a message naming the missing
// privilege when the service's role cannot manage roles.
ReplayIdentity prepare_replay_identity(db::Connection& service, const std::string& service_conninfo,
                                       const std::string& slug, const std::string& recorded_owner,
                                       std::chrono::seconds valid_for);

// Ends `login`'s ability to connect (NOLOGIN, no password). Never throws.
void retire_replay_identity(db::Connection& service, const ReplayIdentity& identity) noexcept;

}  // namespace tb::backup
