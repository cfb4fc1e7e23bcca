// `serve` and `worker`: wire configuration, database, API server, workers and
// background loops together, run until SIGINT/SIGTERM, then shut down in order
// (stop accepting, let requests finish, hand running jobs back or finish them).
#pragma once

#include "config/config.hpp"

namespace tb::app {

struct ServeOptions {
  bool api = true;
  bool worker = true;
  bool scheduler = true;
};

int serve(const config::Config& config, const ServeOptions& options);
int migrate(const config::Config& config);

}  // namespace tb::app
