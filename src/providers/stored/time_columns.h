#pragma once

// How the stores keep times: Unix milliseconds in an integer column, NULL for "not yet".

#include <cstdint>
#include <optional>

#include "core/time.h"

namespace runvoy::providers::stored {

inline int64_t Millis(core::TimePoint t) {
  return core::ToUnixMillis(t);
}
inline std::optional<int64_t> Millis(const std::optional<core::TimePoint>& t) {
  if (!t) {
    return std::nullopt;
  }
  return core::ToUnixMillis(*t);
}
inline core::TimePoint Time(int64_t ms) {
  return core::FromUnixMillis(ms);
}
inline std::optional<core::TimePoint> Time(const std::optional<int64_t>& ms) {
  if (!ms) {
    return std::nullopt;
  }
  return core::FromUnixMillis(*ms);
}

}  // namespace runvoy::providers::stored
