#include "app/workflow_options.hpp"

#include "age/keys.hpp"

namespace tb::app {

workflows::Options workflow_options(const config::Config& config) {
  workflows::Options o;
  o.database_url = config.database_url;
  o.verify_database_url = config.verify_database_url;
  o.storage_dir = config.storage_dir;
  o.pg_bin_dir = config.pg_bin_dir;
  o.pg_dump_timeout = config.pg_dump_timeout;
  o.project_lock_wait = config.project_lock_wait;
  o.fleet.batch_tenants = config.fleet_batch_tenants;
  o.fleet.max_locks = config.fleet_max_locks;
  o.fleet.dump_jobs = config.fleet_dump_jobs;
  o.fleet.lock_wait = config.fleet_lock_wait;
  o.restore_keep = std::chrono::hours(24) * config.restore_keep_days;
  o.zstd_adaptive_min_level = config.zstd_adaptive_min_level;
  o.zstd_adaptive_max_level = config.zstd_adaptive_max_level;
  o.zstd_workers = config.zstd_workers;
  o.smtp.url = config.smtp_url;
  o.smtp.from = config.smtp_from;
  o.telegram.api_url = config.telegram_api_url;
  o.telegram.bot_token = config.telegram_bot_token;
  o.telegram.part_size = config.telegram_part_size;
  o.s3.configured = config.s3_configured();
  o.s3.client.endpoint = config.s3_endpoint;
  o.s3.client.bucket = config.s3_bucket;
  o.s3.client.region = config.aws_region;
  o.s3.client.access_key_id = config.aws_access_key_id;
  o.s3.client.secret_access_key = config.aws_secret_access_key;
  o.s3.client.session_token = config.aws_session_token;
  o.s3.client.path_style = config.s3_force_path_style;
  o.s3.client.part_size = config.s3_part_size;
  o.s3.prefix = config.s3_prefix;
  o.s3.stale_upload_grace = config.pg_dump_timeout + std::chrono::hours(1);
  // Read once per process; configuration loading already checked the file.
  if (!config.age_identity_file.empty())
    o.age_identities = age::load_identity_file(config.age_identity_file);
  return o;
}

}  // namespace tb::app
