#include "app/workflow_options.hpp"

namespace tb::app {

workflows::Options workflow_options(const config::Config& config) {
  workflows::Options o;
  o.database_url = config.database_url;
  o.storage_dir = config.storage_dir;
  o.pg_bin_dir = config.pg_bin_dir;
  o.pg_dump_timeout = config.pg_dump_timeout;
  o.project_lock_wait = config.project_lock_wait;
  o.restore_keep = std::chrono::hours(24) * config.restore_keep_days;
  o.smtp.url = config.smtp_url;
  o.smtp.from = config.smtp_from;
  o.telegram.api_url = config.telegram_api_url;
  o.telegram.bot_token = config.telegram_bot_token;
  o.telegram.part_size = config.telegram_part_size;
  return o;
}

}  // namespace tb::app
