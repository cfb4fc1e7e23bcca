// The API suite's deployment, shared by its test files: `serve` with a fake
// SMTP server, three projects (acme with a table of every awkward column type
// and a table whose name needs quoting; acme2 and other with tables of their
// own) and tokens of alice (acme), mallory (other) and an admin.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "support/deployed_suite.hpp"
#include "support/smtp_server.hpp"

namespace tb::test {

class ApiTest : public DeployedSuite<ApiTest> {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite() {
    DeployedSuite::TearDownTestSuite();
    smtp_.reset();
  }

  static int count(const std::string& sql) { return std::stoi(value(sql)); }

  // Starts an export of acme with `body` (checking the 202 answer) and
  // returns the job's final JSON.
  boost::json::object export_and_wait(const std::string& body);
  // Restores a downloaded dump with the real tools into a fresh database and
  // compares every table with the source.
  void expect_restores(const std::string& file, const std::string& format,
                       const std::string& compression);
  // Downloads the backup into a temporary file; returns its path.
  std::string download_to_file(const std::string& backup_id);

  static inline std::unique_ptr<SmtpServer> smtp_;
  static inline std::size_t emails_seen_ = 0;
  static inline std::string other_token_, admin_token_;
};

}  // namespace tb::test
