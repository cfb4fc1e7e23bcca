// The hostile-input suite's deployment, shared by its test files: `serve`
// connecting as a role that needs its password (scram), with recognisable
// secrets everywhere (if one shows up where it must not, a search finds it),
// tokens of alice (acme) and mallory (other), and a set of forged tokens.
// Every call goes through call(), so the secrets test can read every body.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "support/deployed_suite.hpp"
#include "support/http_client.hpp"

namespace tb::test {

class HostileTest : public DeployedSuite<HostileTest> {
 protected:
  static inline const std::string kSecret =
      "hostile-jwt-secret-SENTINEL-that-is-long-enough-0123456789";
  static inline const std::string kDbRole = "tb_secret_role";
  static inline const std::string kDbPassword = "Db-Pass-SENTINEL-7f3a9c";
  static inline const std::string kBotToken = "123456789:AAE-bot-token-SENTINEL-x9y8z7";
  static inline const std::string kIssuer = "tb-issuer";
  static inline const std::string kAudience = "tb-api";

  static void SetUpTestSuite();

  // `method path` as `token` (none when empty), on `base` (default: the
  // suite's service); the response body is kept for the secrets test.
  static HttpResponse call(const std::string& method, const std::string& path,
                           const std::string& token, const std::string& body = {},
                           const std::string& content_type = "application/json",
                           const std::string& base = {});
  // The error code of a refusal ("<no error code>" when there is none).
  static std::string code_of(const HttpResponse& r);
  // What a refused request must not change: control_plane's rows and the
  // files under STORAGE_DIR and outside_.
  static std::string state();
  // Polls the job through call() until it ended.
  static boost::json::object wait_for_job(const std::string& job_id);
  // A completed acme backup (made once): its job id and backup id.
  static std::pair<std::string, std::string> acme_backup();

  static inline std::string outside_, keys_;  // a folder outside STORAGE_DIR; the RSA keys
  static inline std::string other_token_;
  static inline std::map<std::string, std::string> forged_;  // name -> token (mint_tokens.py)
  static inline std::mutex bodies_mutex_;
  static inline std::vector<std::string> bodies_;  // every response body seen
};

}  // namespace tb::test
