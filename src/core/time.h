#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace runvoy::core {

using SystemClock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<SystemClock, std::chrono::milliseconds>;

// The source of "now" for everything that records time, injectable in tests.
// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The real wall clock.
class WallClock final : public Clock {
 public:
  TimePoint Now() const override;
};

// "2026-11-30T04:56:41Z" (seconds) or with ".123" when the time has milliseconds.
std::string FormatRfc3339(TimePoint t);
std::optional<TimePoint> ParseRfc3339(std::string_view text);
int64_t ToUnixMillis(TimePoint t);
TimePoint FromUnixMillis(int64_t ms);

// "90s", "10m", "1h", "1h30m", "500ms", or a bare number of seconds. nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace runvoy::core
