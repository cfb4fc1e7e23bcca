// tenant-backup: the one binary. main only hands over to app/.
#include "app/cli.hpp"

int main(int argc, char** argv) {
  return tb::app::run_cli(argc, argv);
}
