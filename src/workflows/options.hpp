// What the job types need from the service's configuration, and nothing
// more: app/ builds it once from config::Config (app/workflow_options), so
// workflows/ never reads the whole configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "age/keys.hpp"
#include "notify/email.hpp"
#include "s3/options.hpp"

namespace tb::workflows {

struct TelegramOptions {
  std::string api_url = "https://api.telegram.org";
  std::string bot_token;  // empty: Telegram is not configured on this server
  std::uint64_t part_size = 19ull * 1024 * 1024;
};

struct S3Options {
  bool configured = false;  // S3_BUCKET set: the "s3" destination works
  s3::Options client;
  std::string prefix;  // "" or ends with '/'; keys are PREFIX + project + "/" + file name
  // An unfinished multipart upload under the prefix older than this is
  // aborted by the sweep (its export died with its worker): longer than any
  // export may run.
  std::chrono::seconds stale_upload_grace{7 * 3600};
};

struct FleetOptions {
  int batch_tenants = 200;  // the most tenants one pg_dump dumps together
  int max_locks = 0;        // the most tables a batch locks; 0: half the server's lock table
  int dump_jobs = 1;        // pg_dump --jobs of a batch
  // How long a batch's pg_dump waits for a table another session holds
  // exclusively; then that tenant is dumped alone and the batch without it.
  std::chrono::milliseconds lock_wait{std::chrono::seconds(30)};
};

struct Options {
  // The service's connection string: the project lock's session and the
  // attempt's named pg_dump/psql sessions connect with it.
  std::string database_url;
  // A database of the scratch cluster (VERIFY_DATABASE_URL) where a
  // verification creates and drops its throwaway database; "" = none.
  std::string verify_database_url;
  std::string storage_dir = "var/backups";  // every local copy lives under it
  std::string pg_bin_dir = "/usr/lib/postgresql/15/bin";
  std::chrono::seconds pg_dump_timeout{6 * 3600};    // pg_dump, psql and pg_restore alike
  std::chrono::seconds project_lock_wait{6 * 3600};  // then PROJECT_BUSY
  std::chrono::hours restore_keep{24 * 7};           // how long a set-aside schema is kept
  int zstd_adaptive_min_level = 1;                   // adaptive zstd's floor and ceiling
  int zstd_adaptive_max_level = 6;
  int zstd_workers = -1;     // -1: backup::default_zstd_workers()
  notify::SmtpOptions smtp;  // url empty: no notice e-mails
  TelegramOptions telegram;
  S3Options s3;
  FleetOptions fleet;
  // The service's age identities (AGE_IDENTITY_FILE), in the file's order:
  // the first one's recipient gets every new encrypted backup, all are tried
  // when reading one. Empty: this server cannot encrypt or decrypt.
  std::vector<age::Identity> age_identities;
};

}  // namespace tb::workflows
