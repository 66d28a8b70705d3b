// The composition root: `runvoy server ...` runs the server, `runvoy __supervise` is the local
// sandbox's per-execution supervisor (internal), everything else is the CLI.

#include <cstring>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "contract/registry.h"
#include "providers/builtin.h"
#include "server/server_command.h"
#if RUNVOY_WITH_LOCAL
#include "providers/local/supervisor.h"
#endif

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "server") == 0) {
    runvoy::contract::Registry registry;
    runvoy::providers::RegisterBuiltins(registry);
    return runvoy::server::ServerCommand(registry, std::vector<std::string>(argv + 2, argv + argc));
  }
#if RUNVOY_WITH_LOCAL
  if (argc > 1 && std::strcmp(argv[1], "__supervise") == 0) {
    return runvoy::providers::local::SupervisorMain(argc, argv);
  }
#endif
  return runvoy::cli::RunCli(argc, argv);
}
