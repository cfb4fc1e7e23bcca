// What an e2e test deploys: a fresh database in the shared cluster with the
// control plane migrated by the real binary (`tenant-backup migrate`), a seed
// (projects, tenant schemas, settings), a storage folder, the environment the
// binary runs with, a token, and optionally a running service process.
//
// What differs between suites is an option: the role the service connects
// as, extra or overridden variables, the seed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/service_process.hpp"

namespace tb::test {

// One project "acme" with a tenant table of 20000 rows (enough for pg_dump to
// take a moment and for a restore to be compared).
extern const char* const kAcmeSeed;

struct DeploymentOptions {
  // Names the database and the storage folder (helps reading a kept cluster).
  std::string prefix = "e2e";
  // "" = the cluster's superuser. Otherwise a LOGIN NOSUPERUSER role (created
  // when missing) that owns the database; the binary and the seed run as it.
  std::string role;
  // Appended to DATABASE_URL, e.g. " user=x password=y" for a role whose
  // login needs its password (set up by the test).
  std::string conninfo_extra;
  // Added to, and overriding, the defaults: DATABASE_URL, LISTEN
  // (127.0.0.1:0), JWT_SECRET, STORAGE_DIR (a fresh folder) and
  // RATE_LIMIT_PER_MINUTE (1000).
  std::map<std::string, std::string> env;
  // SQL run after the migration (several statements).
  std::string seed_sql = kAcmeSeed;
  // `tenant-backup token` arguments for token(); empty = no token minted.
  std::vector<std::string> token_args = {"--project", "acme"};
  // Non-empty: started after the seed, e.g. {"serve"} or {"serve", "--no-worker"}.
  std::vector<std::string> serve;
};

class Deployment {
 public:
  explicit Deployment(DeploymentOptions options = {});
  Deployment(const Deployment&) = delete;
  Deployment& operator=(const Deployment&) = delete;

  const std::string db;  // the database's name
  std::string storage;   // STORAGE_DIR (options.env's when it sets one)
  std::map<std::string, std::string> env;
  std::string token;  // minted with options.token_args ("" when none)

  // A token minted with `args` (`tenant-backup token ...`).
  std::string mint(const std::vector<std::string>& args) const;
  // The service started with options.serve; throws when there is none.
  ServiceProcess& service() const;
  // libpq conninfo of the database as the superuser.
  std::string conninfo() const;
  // First column of the first row of `sql`, as the superuser.
  std::string value(const std::string& sql) const;
  void exec(const std::string& sql) const;
  // Polls `sql` until it returns `want` (a state, never a duration); false
  // when it still does not after `seconds`.
  bool wait_for(const std::string& sql, const std::string& want, int seconds = 120) const;

 private:
  std::unique_ptr<ServiceProcess> service_;
};

}  // namespace tb::test
