// The command line: subcommands serve, worker, migrate, token, export, restore.
#pragma once

namespace tb::app {

int run_cli(int argc, char** argv);

}  // namespace tb::app
