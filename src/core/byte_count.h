#pragma once

// Sizes as people write them in configuration: "1048576", "512KiB", "1MiB", "2GB", "100M".

#include <cstdint>
#include <optional>
#include <string_view>

namespace runvoy::core {

// A byte count with an optional unit, case-insensitive: B; K, KiB, M, MiB, G, GiB (binary:
// bare K/M/G are binary, as in Docker); KB, MB, GB (decimal). nullopt when malformed, negative
// or beyond int64_t.
std::optional<int64_t> ParseByteCount(std::string_view text);

}  // namespace runvoy::core
