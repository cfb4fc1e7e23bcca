#include "config/config.hpp"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "age/keys.hpp"
#include "config/s3_values.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace tb::config {
namespace {

using Setter = std::function<void(Config&, const std::string&)>;

struct Variable {
  VariableInfo info;
  Setter set;
};

template <typename Int>
Int parse_int(const std::string& name, const std::string& v, Int min, Int max) {
  Int out{};
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc{} || ptr != v.data() + v.size()) {
    throw ConfigError(name, "'" + v + "' is not a whole number");
  }
  if (out < min || out > max) {
    throw ConfigError(name, "'" + v + "' is out of range [" + std::to_string(min) + ", " +
                                std::to_string(max) + "]");
  }
  return out;
}

// Sizes accept a plain byte count or a KiB/MiB/GiB suffix ("19MiB"), at most `max` bytes.
std::uint64_t parse_size(const std::string& name, const std::string& v,
                         std::uint64_t max = 50ull * 1024 * 1024) {
  std::uint64_t mult = 1;
  std::string digits = v;
  for (auto [suffix, m] : {std::pair{"KiB", 1024ull}, std::pair{"MiB", 1024ull * 1024},
                           std::pair{"GiB", 1024ull * 1024 * 1024}}) {
    std::string_view s(suffix);
    if (digits.size() > s.size() && digits.ends_with(s)) {
      mult = m;
      digits.resize(digits.size() - s.size());
      break;
    }
  }
  return parse_int<std::uint64_t>(name, digits, 1, max / mult) * mult;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (auto t = trim(item); !t.empty()) out.emplace_back(t);
  }
  return out;
}

void require_url(const std::string& name, const std::string& v,
                 std::initializer_list<std::string_view> schemes) {
  for (auto s : schemes) {
    if (v.starts_with(s)) return;
  }
  std::string list;
  for (auto s : schemes) list += (list.empty() ? "" : ", ") + std::string(s);
  throw ConfigError(name, "must start with one of: " + list);
}

// "HOST:PORT" or "[v6]:PORT".
void parse_host_port(const std::string& name, const std::string& v, std::string& host,
                     std::uint16_t& port) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw ConfigError(name, "expected HOST:PORT, got '" + v + "'");
  host = v.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  port = parse_int<std::uint16_t>(name, v.substr(colon + 1), 0, 65535);
}

const std::vector<Variable>& table() {
  static const std::vector<Variable> vars = {
      {{"DATABASE_URL", "(embedded cluster with make run)",
        "libpq connection string or postgresql:// URL of the platform database"},
       [](Config& c, const std::string& v) {
         require_url("DATABASE_URL", v,
                     {"postgres://", "postgresql://", "host=", "dbname=", "user="});
         c.database_url = v;
       }},
      {{"VERIFY_DATABASE_URL", "(none: no verifications; make run sets one)",
        "connection string of a database in the scratch cluster where verifications create and "
        "drop their throwaway databases (its role needs CREATEDB and CREATEROLE)"},
       [](Config& c, const std::string& v) {
         require_url("VERIFY_DATABASE_URL", v,
                     {"postgres://", "postgresql://", "host=", "dbname=", "user="});
         c.verify_database_url = v;
       }},
      {{"LISTEN", "127.0.0.1:8080",
        "address and port of the HTTP server (port 0 picks a free one)"},
       [](Config& c, const std::string& v) {
         parse_host_port("LISTEN", v, c.listen_host, c.listen_port);
       }},
      {{"PUBLIC_URL", "http://LISTEN", "base URL that links printed and e-mailed point at"},
       [](Config& c, const std::string& v) {
         require_url("PUBLIC_URL", v, {"http://", "https://"});
         c.public_url = v;
       }},
      {{"STORAGE_DIR", "var/backups", "folder where local backups are kept"},
       [](Config& c, const std::string& v) { c.storage_dir = v; }},
      {{"JWT_ALGORITHM", "HS256 (RS256 with JWT_PUBLIC_KEY_FILE)",
        "the only JWT algorithm accepted: HS256, RS256 or ES256"},
       [](Config& c, const std::string& v) {
         if (v == "HS256")
           c.jwt_algorithm = JwtAlgorithm::kHS256;
         else if (v == "RS256")
           c.jwt_algorithm = JwtAlgorithm::kRS256;
         else if (v == "ES256")
           c.jwt_algorithm = JwtAlgorithm::kES256;
         else
           throw ConfigError("JWT_ALGORITHM", "must be HS256, RS256 or ES256, got '" + v + "'");
       }},
      {{"JWT_SECRET", "(none)", "HS256 secret, at least 32 bytes", true},
       [](Config& c, const std::string& v) {
         if (v.size() < 32) throw ConfigError("JWT_SECRET", "must be at least 32 bytes long");
         c.jwt_secret = v;
       }},
      {{"JWT_PUBLIC_KEY_FILE", "(none)", "PEM public key for RS256/ES256 tokens"},
       [](Config& c, const std::string& v) {
         if (!std::filesystem::is_regular_file(v)) {
           throw ConfigError("JWT_PUBLIC_KEY_FILE", "'" + v + "' is not a readable file");
         }
         c.jwt_public_key_file = v;
       }},
      {{"JWT_ISSUER", "(not checked)", "required `iss` claim"},
       [](Config& c, const std::string& v) { c.jwt_issuer = v; }},
      {{"JWT_AUDIENCE", "(not checked)", "required `aud` claim"},
       [](Config& c, const std::string& v) { c.jwt_audience = v; }},
      {{"JWT_LEEWAY_SECONDS", "30", "clock skew allowed on exp/nbf"},
       [](Config& c, const std::string& v) {
         c.jwt_leeway = std::chrono::seconds(parse_int<int>("JWT_LEEWAY_SECONDS", v, 0, 300));
       }},
      {{"AGE_IDENTITY_FILE", "(none: no encrypted backups)",
        "age-keygen file (mode 0600) of the service's keys: the first encrypts new backups, every "
        "one is tried when reading"},
       [](Config& c, const std::string& v) {
         // Read once here so that a missing, unreadable, world-readable or
         // malformed file stops start-up rather than the first encrypted backup.
         try {
           age::load_identity_file(v);
         } catch (const Error& e) {
           throw ConfigError("AGE_IDENTITY_FILE", e.message());
         }
         c.age_identity_file = v;
       }},
      {{"DOWNLOAD_LINK_SECRET", "(derived from JWT_SECRET; required with RS256/ES256)",
        "key of signed download links, at least 32 bytes, the same on every process", true},
       [](Config& c, const std::string& v) {
         if (v.size() < 32)
           throw ConfigError("DOWNLOAD_LINK_SECRET", "must be at least 32 bytes long");
         c.download_link_secret = v;
       }},
      {{"METRICS_TOKEN", "(none)", "bearer token /metrics requires, at least 16 characters", true},
       [](Config& c, const std::string& v) {
         if (v.size() < 16)
           throw ConfigError("METRICS_TOKEN", "must be at least 16 characters long");
         if (v.find_first_of(" \t\r\n") != std::string::npos) {
           throw ConfigError("METRICS_TOKEN",
                             "must not contain spaces (it is sent as a bearer token)");
         }
         c.metrics_token = v;
       }},
      {{"METRICS_LISTEN", "(none: /metrics on LISTEN)",
        "separate HOST:PORT that serves /metrics (the main listener then has none)"},
       [](Config& c, const std::string& v) {
         std::uint16_t port = 0;
         parse_host_port("METRICS_LISTEN", v, c.metrics_host, port);
         c.metrics_port = port;
       }},
      {{"TELEGRAM_BOT_TOKEN", "(none)", "Bot API token; enables the telegram destination", true},
       [](Config& c, const std::string& v) {
         if (v.find(':') == std::string::npos) {
           throw ConfigError("TELEGRAM_BOT_TOKEN", "expected the form <bot id>:<secret>");
         }
         c.telegram_bot_token = v;
       }},
      {{"TELEGRAM_API_URL", "https://api.telegram.org", "Bot API base URL"},
       [](Config& c, const std::string& v) {
         require_url("TELEGRAM_API_URL", v, {"http://", "https://"});
         c.telegram_api_url = v;
         while (c.telegram_api_url.ends_with('/')) c.telegram_api_url.pop_back();
       }},
      {{"TELEGRAM_PART_SIZE", "19MiB", "largest Telegram part (getFile fetches at most 20 MB)"},
       [](Config& c, const std::string& v) {
         c.telegram_part_size = parse_size("TELEGRAM_PART_SIZE", v);
         if (c.telegram_part_size > 20ull * 1000 * 1000) {
           throw ConfigError("TELEGRAM_PART_SIZE", "must be at most 20 MB so getFile can fetch it");
         }
       }},
      {{"S3_ENDPOINT", "(none: AWS, https://s3.REGION.amazonaws.com)",
        "http:// or https:// URL of an S3-compatible service"},
       [](Config& c, const std::string& v) {
         require_url("S3_ENDPOINT", v, {"http://", "https://"});
         c.s3_endpoint = v;
         while (c.s3_endpoint.ends_with('/')) c.s3_endpoint.pop_back();
       }},
      {{"S3_BUCKET", "(none)", "bucket of the s3 destination; enables it (needs both AWS keys)"},
       [](Config& c, const std::string& v) {
         detail::check_bucket(v);
         c.s3_bucket = v;
       }},
      {{"S3_PREFIX", "(none)", "folder inside the bucket that every backup key starts with"},
       [](Config& c, const std::string& v) { c.s3_prefix = detail::normalize_prefix(v); }},
      {{"AWS_ACCESS_KEY_ID", "(none)", "S3 access key"},
       [](Config& c, const std::string& v) {
         detail::require_token("AWS_ACCESS_KEY_ID", v);
         c.aws_access_key_id = v;
       }},
      {{"AWS_SECRET_ACCESS_KEY", "(none)", "S3 secret key", true},
       [](Config& c, const std::string& v) {
         detail::require_token("AWS_SECRET_ACCESS_KEY", v);
         c.aws_secret_access_key = v;
       }},
      {{"AWS_SESSION_TOKEN", "(none)",
        "temporary credentials' session token (sent as x-amz-security-token)", true},
       [](Config& c, const std::string& v) {
         detail::require_token("AWS_SESSION_TOKEN", v);
         c.aws_session_token = v;
       }},
      {{"AWS_REGION", "us-east-1", "S3 region (part of every request's signature)"},
       [](Config& c, const std::string& v) {
         detail::check_region(v);
         c.aws_region = v;
       }},
      {{"S3_PART_SIZE", "8MiB",
        "multipart part size, 5MiB-5GiB; memory per upload is 4 parts; an object has at most "
        "10000 parts, so this caps a backup's size (8MiB: 78 GiB)"},
       [](Config& c, const std::string& v) {
         c.s3_part_size = parse_size("S3_PART_SIZE", v, 5ull * 1024 * 1024 * 1024);
         if (c.s3_part_size < 5ull * 1024 * 1024)
           throw ConfigError("S3_PART_SIZE", "must be at least 5MiB");
       }},
      {{"S3_FORCE_PATH_STYLE", "false",
        "true: ENDPOINT/BUCKET/KEY URLs (most S3-compatible servers); false: BUCKET.host"},
       [](Config& c, const std::string& v) {
         c.s3_force_path_style = detail::parse_bool("S3_FORCE_PATH_STYLE", v);
       }},
      {{"SMTP_URL", "(none: no e-mail)", "smtp:// or smtps:// URL of the mail relay"},
       [](Config& c, const std::string& v) {
         require_url("SMTP_URL", v, {"smtp://", "smtps://"});
         c.smtp_url = v;
       }},
      {{"SMTP_FROM", "tenant-backup@localhost", "sender address of notices"},
       [](Config& c, const std::string& v) { c.smtp_from = v; }},
      {{"WORKER_CONCURRENCY", "2", "jobs run at once per process"},
       [](Config& c, const std::string& v) {
         c.worker_concurrency = parse_int<int>("WORKER_CONCURRENCY", v, 1, 256);
       }},
      {{"HTTP_THREADS", "2", "I/O threads of the HTTP server"},
       [](Config& c, const std::string& v) {
         c.http_threads = parse_int<int>("HTTP_THREADS", v, 1, 64);
       }},
      {{"DB_POOL_SIZE", "8", "database connections kept by the API"},
       [](Config& c, const std::string& v) {
         c.db_pool_size = parse_int<int>("DB_POOL_SIZE", v, 1, 512);
       }},
      {{"JOB_LEASE_SECONDS", "30", "a running job's lease; renewed while it runs"},
       [](Config& c, const std::string& v) {
         c.job_lease = std::chrono::seconds(parse_int<int>("JOB_LEASE_SECONDS", v, 2, 3600));
       }},
      {{"SHUTDOWN_GRACE_SECONDS", "20",
        "on SIGTERM, how long running jobs may finish before they are handed back"},
       [](Config& c, const std::string& v) {
         c.shutdown_grace =
             std::chrono::seconds(parse_int<int>("SHUTDOWN_GRACE_SECONDS", v, 0, 3600));
       }},
      {{"JOB_MAX_ATTEMPTS", "3", "attempts before a job is failed"},
       [](Config& c, const std::string& v) {
         c.job_max_attempts = parse_int<int>("JOB_MAX_ATTEMPTS", v, 1, 100);
       }},
      {{"PG_DUMP_TIMEOUT_SECONDS", "21600", "a dump or restore running longer is stopped"},
       [](Config& c, const std::string& v) {
         c.pg_dump_timeout =
             std::chrono::seconds(parse_int<int>("PG_DUMP_TIMEOUT_SECONDS", v, 1, 7 * 86400));
       }},
      {{"ZSTD_ADAPTIVE_MIN_LEVEL", "1",
        "the lowest level an adaptive zstd export goes down to (1-19) when the CPU is short"},
       [](Config& c, const std::string& v) {
         c.zstd_adaptive_min_level = parse_int<int>("ZSTD_ADAPTIVE_MIN_LEVEL", v, 1, 19);
       }},
      {{"ZSTD_ADAPTIVE_MAX_LEVEL", "6",
        "the highest level an adaptive zstd export goes up to (1-19) when the CPU is spare"},
       [](Config& c, const std::string& v) {
         c.zstd_adaptive_max_level = parse_int<int>("ZSTD_ADAPTIVE_MAX_LEVEL", v, 1, 19);
       }},
      {{"ZSTD_WORKERS", "auto",
        "zstd compression threads per export: auto (none on 2 cores, 1 on 3, else 2), or 0-8 "
        "(0: compression on the thread that reads pg_dump)"},
       [](Config& c, const std::string& v) {
         c.zstd_workers = v == "auto" ? -1 : parse_int<int>("ZSTD_WORKERS", v, 0, 8);
       }},
      {{"PROJECT_LOCK_WAIT_SECONDS", "21600",
        "how long an export or restore waits for the same project's running one before it fails "
        "(and is retried)"},
       [](Config& c, const std::string& v) {
         c.project_lock_wait =
             std::chrono::seconds(parse_int<int>("PROJECT_LOCK_WAIT_SECONDS", v, 1, 7 * 86400));
       }},
      {{"FLEET_BATCH_TENANTS", "200", "fleet runs: the most tenants one pg_dump dumps together"},
       [](Config& c, const std::string& v) {
         c.fleet_batch_tenants = parse_int<int>("FLEET_BATCH_TENANTS", v, 1, 100000);
       }},
      {{"FLEET_MAX_LOCKS", "0",
        "fleet runs: the most tables one batch dump may lock (0: half of the server's lock "
        "table, max_locks_per_transaction x (max_connections + max_prepared_transactions))"},
       [](Config& c, const std::string& v) {
         c.fleet_max_locks = parse_int<int>("FLEET_MAX_LOCKS", v, 0, 100000000);
       }},
      {{"FLEET_DUMP_JOBS", "1", "fleet runs: pg_dump --jobs of a batch (one connection each)"},
       [](Config& c, const std::string& v) {
         c.fleet_dump_jobs = parse_int<int>("FLEET_DUMP_JOBS", v, 1, 16);
       }},
      {{"FLEET_LOCK_WAIT_SECONDS", "30",
        "fleet runs: how long a batch's pg_dump waits for a table another session holds; then "
        "that tenant is backed up alone and the batch without it"},
       [](Config& c, const std::string& v) {
         c.fleet_lock_wait =
             std::chrono::seconds(parse_int<int>("FLEET_LOCK_WAIT_SECONDS", v, 1, 86400));
       }},
      {{"SCHEDULER_TICK_SECONDS", "30", "how often the scheduler looks for due backups"},
       [](Config& c, const std::string& v) {
         c.scheduler_tick =
             std::chrono::seconds(parse_int<int>("SCHEDULER_TICK_SECONDS", v, 1, 3600));
       }},
      {{"SCHEDULE_JITTER_SECONDS", "300",
        "scheduled backups start spread over this window after their slot (0: at the slot)"},
       [](Config& c, const std::string& v) {
         c.schedule_jitter =
             std::chrono::seconds(parse_int<int>("SCHEDULE_JITTER_SECONDS", v, 0, 86400));
       }},
      {{"SCHEDULE_FLEET_MIN_PROJECTS", "2",
        "this many projects due in the same slot are backed up as one fleet run (0: never)"},
       [](Config& c, const std::string& v) {
         c.schedule_fleet_min_projects =
             parse_int<int>("SCHEDULE_FLEET_MIN_PROJECTS", v, 0, 1000000);
       }},
      {{"RETENTION_SWEEP_SECONDS", "300",
        "how often expired backups, old pre-restore schemas and orphan files are removed"},
       [](Config& c, const std::string& v) {
         c.retention_sweep =
             std::chrono::seconds(parse_int<int>("RETENTION_SWEEP_SECONDS", v, 1, 86400));
       }},
      {{"EXPIRY_NOTICE_DAYS", "3",
        "days before expiry that the notify e-mail is told (once) what will be deleted"},
       [](Config& c, const std::string& v) {
         c.expiry_notice_days = parse_int<int>("EXPIRY_NOTICE_DAYS", v, 0, 365);
       }},
      {{"RESTORE_KEEP_DAYS", "7",
        "days a schema set aside by a restore is kept before it is dropped"},
       [](Config& c, const std::string& v) {
         c.restore_keep_days = parse_int<int>("RESTORE_KEEP_DAYS", v, 1, 3650);
       }},
      {{"PG_BIN_DIR", "/usr/lib/postgresql/15/bin", "where pg_dump, pg_restore and psql are"},
       [](Config& c, const std::string& v) {
         if (!std::filesystem::is_directory(v))
           throw ConfigError("PG_BIN_DIR", "'" + v + "' is not a folder");
         c.pg_bin_dir = v;
       }},
      {{"RATE_LIMIT_PER_MINUTE", "10",
        "per client (an IPv4 address, an IPv6 /64), on routes that start work"},
       [](Config& c, const std::string& v) {
         c.rate_limit_per_minute = parse_int<int>("RATE_LIMIT_PER_MINUTE", v, 1, 1000000);
       }},
      {{"READ_RATE_LIMIT_PER_MINUTE", "1200",
        "per client (an IPv4 address, an IPv6 /64), on reads"},
       [](Config& c, const std::string& v) {
         c.read_rate_limit_per_minute =
             parse_int<int>("READ_RATE_LIMIT_PER_MINUTE", v, 1, 100000000);
       }},
      {{"TRUSTED_PROXIES", "(none)",
        "comma-separated IPs/CIDRs whose X-Forwarded-For (ip, ip:port, [ipv6]:port) is believed"},
       [](Config& c, const std::string& v) { c.trusted_proxies = split_list(v); }},
      {{"LOG_FORMAT", "text", "text, or json: one JSON object per line"},
       [](Config& c, const std::string& v) {
         if (v == "text")
           c.log_format = LogFormat::kText;
         else if (v == "json")
           c.log_format = LogFormat::kJson;
         else
           throw ConfigError("LOG_FORMAT", "must be text or json, got '" + v + "'");
       }},
      {{"LOG_LEVEL", "info", "debug, info, warn or error"},
       [](Config& c, const std::string& v) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error") {
           throw ConfigError("LOG_LEVEL", "must be debug, info, warn or error");
         }
         c.log_level = v;
       }},
  };
  return vars;
}

}  // namespace

Lookup environment_lookup() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Config load(const Lookup& lookup, bool require_auth) {
  Config c;
  bool algorithm_given = false;
  std::vector<std::string> s3_given;  // S3_* variables set (S3_BUCKET needs to be among them)
  for (const auto& var : table()) {
    auto value = lookup(var.info.name);
    if (!value || value->empty()) continue;
    var.set(c, *value);
    if (var.info.name == "JWT_ALGORITHM") algorithm_given = true;
    if (var.info.name.starts_with("S3_")) s3_given.push_back(var.info.name);
  }
  detail::check_s3(c, s3_given);
  if (c.zstd_adaptive_min_level > c.zstd_adaptive_max_level) {
    throw ConfigError("ZSTD_ADAPTIVE_MAX_LEVEL", "must not be below ZSTD_ADAPTIVE_MIN_LEVEL");
  }
  if (!c.jwt_secret.empty() && !c.jwt_public_key_file.empty()) {
    throw ConfigError("JWT_SECRET", "set either JWT_SECRET or JWT_PUBLIC_KEY_FILE, not both");
  }
  if (!algorithm_given && !c.jwt_public_key_file.empty()) c.jwt_algorithm = JwtAlgorithm::kRS256;
  if (c.jwt_algorithm == JwtAlgorithm::kHS256 && !c.jwt_public_key_file.empty()) {
    throw ConfigError("JWT_ALGORITHM", "HS256 needs JWT_SECRET, not a public key");
  }
  if (c.jwt_algorithm != JwtAlgorithm::kHS256 && !c.jwt_secret.empty()) {
    throw ConfigError("JWT_ALGORITHM", "RS256/ES256 need JWT_PUBLIC_KEY_FILE, not a secret");
  }
  if (require_auth && c.jwt_secret.empty() && c.jwt_public_key_file.empty()) {
    throw ConfigError("JWT_SECRET", "set JWT_SECRET (32+ bytes) or JWT_PUBLIC_KEY_FILE");
  }
  if (require_auth && c.jwt_secret.empty() && c.download_link_secret.empty()) {
    // A per-process random key would make a link minted by one process fail on another.
    throw ConfigError("DOWNLOAD_LINK_SECRET",
                      "RS256/ES256 need DOWNLOAD_LINK_SECRET (32+ bytes, the same on every "
                      "process) to sign download "
                      "links");
  }
  if (c.metrics_port && *c.metrics_port != 0 && *c.metrics_port == c.listen_port &&
      c.metrics_host == c.listen_host) {
    throw ConfigError("METRICS_LISTEN", "must differ from LISTEN");
  }
  if (c.public_url.empty()) {
    std::string host =
        c.listen_host.find(':') != std::string::npos ? "[" + c.listen_host + "]" : c.listen_host;
    c.public_url = "http://" + host + ":" + std::to_string(c.listen_port);
  }
  return c;
}

const std::vector<VariableInfo>& variables() {
  static const std::vector<VariableInfo> infos = [] {
    std::vector<VariableInfo> out;
    for (const auto& v : table()) out.push_back(v.info);
    return out;
  }();
  return infos;
}

std::string variables_markdown() {
  std::string out = "| variable | default | meaning |\n| --- | --- | --- |\n";
  for (const auto& v : variables()) {
    out += "| `" + v.name + "` | " + v.default_text + " | " + v.description + " |\n";
  }
  return out;
}

std::string variables_text() {
  std::string out = "Environment variables:\n";
  for (const auto& v : variables()) {
    out += "  " + v.name + std::string(v.name.size() < 28 ? 28 - v.name.size() : 1, ' ') +
           v.description + " [default: " + v.default_text + "]\n";
  }
  return out;
}

}  // namespace tb::config
