#pragma once

#include <string>
#include <vector>

#include "cli/context.h"

namespace runvoy::cli {

// Runs the `runvoy` command line (everything but `runvoy server` and internal helpers) with
// the process's streams, environment and terminal. Returns the exit code (SPEC.md §4).
int RunCli(int argc, char** argv);

// The same with everything injected; `args` excludes the program name.
int RunCliWith(const std::vector<std::string>& args, CliIo& io);

}  // namespace runvoy::cli
