// The service configuration: every environment variable is defined once, in
// config.cpp's table (name, default, parser, description). `--help` and the
// README's table are generated from that same table. A bad value stops
// start-up with a ConfigError naming the variable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tb::config {

enum class JwtAlgorithm { kHS256, kRS256, kES256 };
enum class LogFormat { kText, kJson };

struct Config {
  std::string database_url;
  // Where verifications restore backups into throwaway databases; "" = none.
  std::string verify_database_url;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string storage_dir = "var/backups";
  std::string public_url;  // base URL for links; derived from LISTEN when empty

  // Auth: exactly one of secret (HS256) / public key (RS256, ES256).
  JwtAlgorithm jwt_algorithm = JwtAlgorithm::kHS256;
  std::string jwt_secret;
  std::string jwt_public_key_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::chrono::seconds jwt_leeway{30};
  // Key material of signed download links; with HS256 and none given, a key
  // is derived from jwt_secret (auth::download_link_key).
  std::string download_link_secret;

  // /metrics: a bearer token required when set; a separate listener for
  // scrapers when metrics_port is set (the main listener then has no /metrics).
  std::string metrics_token;
  std::string metrics_host;
  std::optional<std::uint16_t> metrics_port;

  std::string telegram_bot_token;
  std::string telegram_api_url = "https://api.telegram.org";
  std::uint64_t telegram_part_size = 19ull * 1024 * 1024;

  // S3-compatible object storage (the s3 destination). Configured when
  // S3_BUCKET is set; it then needs both keys (load() checks).
  std::string s3_endpoint;  // "" = AWS, https://s3.{region}.amazonaws.com
  std::string s3_bucket;
  std::string s3_prefix;  // "" or ends with '/'
  std::string aws_access_key_id;
  std::string aws_secret_access_key;
  std::string aws_session_token;
  std::string aws_region = "us-east-1";
  std::uint64_t s3_part_size = 8ull * 1024 * 1024;
  bool s3_force_path_style = false;
  bool s3_configured() const { return !s3_bucket.empty(); }

  // age-keygen file of the service's identities (encryption at rest); "" =
  // none. load() has read it once: it exists, is private (0600) and parses.
  std::string age_identity_file;

  std::string smtp_url;
  std::string smtp_from = "tenant-backup@localhost";

  int worker_concurrency = 2;
  int http_threads = 2;
  int db_pool_size = 8;
  std::chrono::seconds job_lease{30};
  std::chrono::seconds shutdown_grace{20};
  int job_max_attempts = 3;
  std::chrono::seconds pg_dump_timeout{6 * 3600};
  // Adaptive zstd moves between these levels; workers: zstd's threads per
  // export (-1: backup::default_zstd_workers()).
  int zstd_adaptive_min_level = 1;
  int zstd_adaptive_max_level = 6;
  int zstd_workers = -1;
  // How long an export or restore waits for the project's other job.
  std::chrono::seconds project_lock_wait{6 * 3600};
  // Fleet runs: tenants per batch dump; the most tables a batch may lock
  // (0: half of max_locks_per_transaction x (max_connections +
  // max_prepared_transactions), read from the server); pg_dump -j of a batch.
  int fleet_batch_tenants = 200;
  int fleet_max_locks = 0;
  int fleet_dump_jobs = 1;
  std::chrono::seconds fleet_lock_wait{30};  // then the locked table's tenant runs alone
  std::string pg_bin_dir = "/usr/lib/postgresql/15/bin";

  int rate_limit_per_minute = 10;
  int read_rate_limit_per_minute = 1200;
  std::vector<std::string> trusted_proxies;  // IPs or CIDRs

  // Schedules and retention (schedule/, workflows/retention).
  std::chrono::seconds scheduler_tick{30};
  std::chrono::seconds schedule_jitter{300};
  int schedule_fleet_min_projects = 2;  // due in one slot: one fleet run; 0 = never
  std::chrono::seconds retention_sweep{300};
  int expiry_notice_days = 3;
  int restore_keep_days = 7;

  LogFormat log_format = LogFormat::kText;
  std::string log_level = "info";
};

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string variable, const std::string& message)
      : std::runtime_error("invalid " + variable + ": " + message),
        variable_(std::move(variable)) {}
  const std::string& variable() const noexcept { return variable_; }

 private:
  std::string variable_;
};

// One row of the variable table.
struct VariableInfo {
  std::string name;
  std::string default_text;  // as shown in docs
  std::string description;
  bool secret = false;  // never printed
};

// Looks a variable up; std::nullopt when unset. Defaults to ::getenv.
using Lookup = std::function<std::optional<std::string>(std::string_view)>;
Lookup environment_lookup();

// Parses every variable. Throws ConfigError on the first bad value.
// `require_auth` refuses a configuration without JWT_SECRET / JWT_PUBLIC_KEY_FILE.
Config load(const Lookup& lookup, bool require_auth = true);

const std::vector<VariableInfo>& variables();
// A Markdown table of the variables (README) / plain text (--help).
std::string variables_markdown();
std::string variables_text();

}  // namespace tb::config
