#pragma once

#include <string_view>

namespace runvoy::core {

// The version of this build (set by CMake from the project version).
inline constexpr std::string_view kVersion = RUNVOY_VERSION;

}  // namespace runvoy::core
