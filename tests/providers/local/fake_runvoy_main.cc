// A stand-in for the runvoy executable in tests: it only knows `__supervise`.

#include <cstdio>
#include <string_view>

#include "providers/local/supervisor.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == runvoy::providers::local::kSuperviseCommand) {
    return runvoy::providers::local::SupervisorMain(argc, argv);
  }
  std::fprintf(stderr, "usage: %s __supervise <execution_dir> [<lock_fd>]\n", argv[0]);
  return 2;
}
