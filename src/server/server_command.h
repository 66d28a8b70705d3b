#pragma once

#include <string>
#include <vector>

#include "contract/registry.h"

namespace runvoy::server {

// `runvoy server [flags]` runs the server until SIGTERM/SIGINT; `runvoy server reset-admin
// EMAIL` re-activates or creates an admin offline and prints a new key. `args` are the words
// after "server". Returns the process exit code.
int ServerCommand(const contract::Registry& registry, const std::vector<std::string>& args);

}  // namespace runvoy::server
