// A gtest fixture base for an e2e suite whose tests share one Deployment:
// the suite's SetUpTestSuite builds its DeploymentOptions (usually from
// served_options()) and calls deploy(); every test reads the members below;
// the deployment (database, storage folder, service) goes after the suite's
// last test.
//
//   class RestoreE2E : public DeployedSuite<RestoreE2E> {
//     static void SetUpTestSuite() {
//       auto o = served_options("e2e_restore");
//       o.seed_sql = ...;
//       deploy(o);
//     }
//   };
//
// `Suite` is the deriving fixture: each suite gets static members of its own,
// so several suites can live in one test binary.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/deployment.hpp"
#include "support/http_client.hpp"
#include "support/service_process.hpp"

namespace tb::test {

template <class Suite>
class DeployedSuite : public ::testing::Test {
 public:
  // A suite that owns more (a fake server, a folder) declares its own and
  // calls this one first: the service stops before what it talks to goes.
  static void TearDownTestSuite() {
    server_ = nullptr;
    deployment_.reset();
  }

 protected:
  // What most suites run: `serve` (API, worker and scheduler) with a token
  // of alice for project acme.
  static DeploymentOptions served_options(const std::string& prefix) {
    DeploymentOptions o;
    o.prefix = prefix;
    o.token_args = {"--project", "acme", "--sub", "alice"};
    o.serve = {"serve"};
    return o;
  }

  static void deploy(const DeploymentOptions& options) {
    deployment_ = std::make_unique<Deployment>(options);
    db_ = deployment_->db;
    storage_ = deployment_->storage;
    env_ = deployment_->env;
    token_ = deployment_->token;
    server_ = options.serve.empty() ? nullptr : &deployment_->service();
  }

  // A token of project "other" (the tenant that must not see acme's data).
  static std::string other_project_token(const std::string& sub = "mallory") {
    return deployment_->mint({"--project", "other", "--sub", sub});
  }
  static std::string mint(const std::vector<std::string>& args) { return deployment_->mint(args); }

  static std::string url(const std::string& path) { return server_->base_url() + path; }
  // First column of the first row of `sql`, as the superuser.
  static std::string value(const std::string& sql) { return deployment_->value(sql); }
  static void exec(const std::string& sql) { deployment_->exec(sql); }

  // Polls the job (as `token`) until `done`; when it is not within `seconds`,
  // the test fails with the service log.
  static boost::json::object poll(const std::string& job_id,
                                  const std::function<bool(const boost::json::object&)>& done,
                                  int seconds = 90, const std::string& token = token_) {
    return poll_job(server_->base_url(), token, job_id, done, seconds,
                    [] { return server_->log(); });
  }
  // Polls the job until it ended (completed, failed or cancelled).
  static boost::json::object wait_for_job(const std::string& job_id,
                                          const std::string& token = token_) {
    return poll(job_id, job_ended, 90, token);
  }

  static inline std::unique_ptr<Deployment> deployment_;
  static inline ServiceProcess* server_ = nullptr;  // null without options.serve
  static inline std::string db_, storage_, token_;
  static inline std::map<std::string, std::string> env_;
};

}  // namespace tb::test
