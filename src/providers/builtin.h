#pragma once

#include "contract/registry.h"

namespace runvoy::providers {

// Registers every provider compiled into this binary.
void RegisterBuiltins(contract::Registry& registry);

}  // namespace runvoy::providers
