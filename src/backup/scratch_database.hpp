// The throwaway database a verification restores a backup into, in the
// scratch cluster (VERIFY_DATABASE_URL), and the role that replays it.
//
//   database  tb_verify_<token>: created from template0, owned by the
//             service; PUBLIC may not even connect to it.
//   login     the role of the same name: LOGIN, no attribute, a member of
//             nothing, a fresh random password valid for the replay's
//             timeout; CONNECT, CREATE and TEMP on that database only. The
//             dump's statements, and every function, trigger, default or
//             policy they set off, run as this role (backup::run_restore
//             with it as both login and owner), never as the service.
//
// Both go when the object goes (DROP DATABASE ... WITH (FORCE), then DROP
// ROLE), whichever way the verification ended; sweep_scratch() removes what
// a process that died left behind. Two verifications never share a name
// (the token is the job's), so they never collide, even of one tenant.
// The service's role in the scratch cluster needs CREATEDB and CREATEROLE.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "backup/replay_identity.hpp"

namespace tb::backup {

inline constexpr std::string_view kScratchPrefix = "tb_verify_";

class ScratchDatabase {
 public:
  // `admin_conninfo`: VERIFY_DATABASE_URL (a database to connect to for
  // CREATE/DROP DATABASE). `token`: lowercase hex, unique per verification.
  ScratchDatabase(const std::string& admin_conninfo, const std::string& token,
                  std::chrono::seconds valid_for);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& name() const { return name_; }
  // The replay's identity: login and owner are the scratch role, conninfo
  // reaches the scratch database as it.
  const ReplayIdentity& identity() const { return identity_; }

  // count(*) of every ordinary table (partitions included, partitioned
  // parents not: their rows are their partitions') of `schema`, by table
  // name, read as the scratch role with row security off (a table that
  // forces its policies on its owner is told not to first), so no policy
  // filters a row and no tenant code runs with the service's rights.
  std::map<std::string, std::uint64_t> count_rows(const std::string& schema);

  // Drops the database and the role; never throws (logs what it could not do).
  void drop() noexcept;

 private:
  std::string admin_conninfo_;
  std::string name_;
  ReplayIdentity identity_;
  bool dropped_ = false;
};

// Drops every tb_verify_* database and role of the scratch cluster for
// which `in_use(token)` is false (its job no longer runs). Returns how many
// databases it dropped. Throws on a connection error.
int sweep_scratch(const std::string& admin_conninfo,
                  const std::function<bool(const std::string& token)>& in_use);

}  // namespace tb::backup
