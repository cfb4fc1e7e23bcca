#include "support/deployment.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/pg_cluster.hpp"

namespace tb::test {
namespace {

const char* const kDefaultSecret = "an-e2e-deployment-secret-that-is-long-enough-0123456789";

// Creates the role when missing and gives it the database.
std::string created_database(const DeploymentOptions& o) {
  auto& pg = PgCluster::shared();
  auto db = pg.create_database(o.prefix);
  if (!o.role.empty()) {
    pg.exec("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" +
                            o.role + "') THEN CREATE ROLE \"" + o.role +
                            "\" LOGIN NOSUPERUSER; END IF; END $$");
    pg.exec("postgres", "ALTER DATABASE \"" + db + "\" OWNER TO \"" + o.role + "\"");
  }
  return db;
}

}  // namespace

const char* const kAcmeSeed = R"sql(
  INSERT INTO control_plane.projects (id, slug, name) VALUES ('acme', 'acme', 'Acme');
  CREATE SCHEMA tenant_acme;
  CREATE TABLE tenant_acme.items (id int PRIMARY KEY, body text);
  INSERT INTO tenant_acme.items SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g;
)sql";

Deployment::Deployment(DeploymentOptions o)
    : db(created_database(o)), storage(make_temp_dir("tb-" + o.prefix)) {
  auto& pg = PgCluster::shared();
  std::string url = pg.conninfo(db);
  // The later "user=" wins in a libpq keyword/value string.
  if (!o.role.empty()) url += " user=" + o.role;
  url += o.conninfo_extra;
  env = {{"DATABASE_URL", url},
         {"LISTEN", "127.0.0.1:0"},
         {"JWT_SECRET", kDefaultSecret},
         {"STORAGE_DIR", storage},
         {"RATE_LIMIT_PER_MINUTE", "1000"}};
  for (const auto& [k, v] : o.env) env[k] = v;
  storage = env["STORAGE_DIR"];
  run_binary({"migrate"}, env);
  if (!o.seed_sql.empty()) {
    // As the role the service runs as: what it creates, it owns.
    pg.exec(db, (o.role.empty() ? "" : "SET ROLE \"" + o.role + "\";\n") + o.seed_sql);
  }
  if (!o.token_args.empty()) token = mint(o.token_args);
  if (!o.serve.empty()) service_ = std::make_unique<ServiceProcess>(o.serve, env);
}

std::string Deployment::mint(const std::vector<std::string>& args) const {
  return mint_token(args, env);
}

ServiceProcess& Deployment::service() const {
  if (!service_) throw std::logic_error("this Deployment started no service (options.serve)");
  return *service_;
}

std::string Deployment::conninfo() const {
  return PgCluster::shared().conninfo(db);
}

std::string Deployment::value(const std::string& sql) const {
  return PgCluster::shared().query_value(db, sql);
}

void Deployment::exec(const std::string& sql) const {
  PgCluster::shared().exec(db, sql);
}

bool Deployment::wait_for(const std::string& sql, const std::string& want, int seconds) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (value(sql) != want) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace tb::test
