#include "app/cli.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

#include "config/config.hpp"

namespace tb::app {

int run_cli(int argc, char** argv) {
  CLI::App app{"tenant-backup: backups of tenant schemas of a multi-tenant PostgreSQL platform"};
  app.footer(config::variables_text());
  app.require_subcommand(1);
  auto* serve = app.add_subcommand("serve", "run the HTTP API, workers and scheduler");
  CLI11_PARSE(app, argc, argv);
  if (serve->parsed()) {
    try {
      auto cfg = config::load(config::environment_lookup());
      (void)cfg;
    } catch (const config::ConfigError& e) {
      std::cerr << "tenant-backup: " << e.what() << "\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace tb::app
