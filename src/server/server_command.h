#pragma once

#include <string>
#include <vector>

#include "contract/registry.h"

namespace runvoy::server {

// `runvoy server [flags]` runs the server until SIGTERM/SIGINT; `runvoy server reset-admin
// EMAIL` re-activates or creates an admin offline and prints a new key; `runvoy server
// rotate-key` re-encrypts every secret under a new master key offline (RUNVOY_NEW_MASTER_KEY,
// else a generated one). `args` are the words after "server". Returns the process exit code.
int ServerCommand(const contract::Registry& registry, const std::vector<std::string>& args);

}  // namespace runvoy::server
