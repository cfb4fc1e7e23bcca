// `tenant-backup export` / `restore` / `verify`: the same jobs as the API, queued from the
// command line (a `serve` or `worker` process runs them), then followed until
// they end unless --no-wait.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "model/jobs.hpp"

namespace tb::app {

struct ExportCommandOptions {
  std::string project_id;
  bool all = false;                   // a fleet run of every project
  std::vector<std::string> projects;  // a fleet run of these
  std::string format{model::kDefaultFormat};
  std::string compression{model::kDefaultCompression};
  std::string compression_level;          // empty: the project's (or adaptive)
  std::vector<std::string> destinations;  // empty: the project's saved destinations
  bool no_wait = false;
};
struct RestoreCommandOptions {
  std::string backup_id;
  bool no_wait = false;
};

// Exactly one of the two: a backup, or a project's newest completed backup.
struct VerifyCommandOptions {
  std::string backup_id;
  std::string project_id;
  bool no_wait = false;
};

int run_export_command(const config::Config& config, const ExportCommandOptions& options);
int run_restore_command(const config::Config& config, const RestoreCommandOptions& options);
int run_verify_command(const config::Config& config, const VerifyCommandOptions& options);

}  // namespace tb::app
