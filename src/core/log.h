#pragma once

// Server logging with request context: every line carries the request ID it was written for
// (SPEC.md §1), as text or JSON on stderr.

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace runvoy::core::log {

enum class Level { kDebug, kInfo, kWarn, kError };

enum class Format { kText, kJson };

// Called once at start-up; before that, lines go to stderr as text at info level.
void Configure(Format format, Level min_level);
bool ParseLevel(std::string_view name, Level& level);

// Receives every line written (after level filtering), e.g. to keep lines for /trace.
// Must be thread-safe and fast. Set once at start-up.
using Listener = std::function<void(Level, std::string_view request_id, std::string_view message)>;
void SetListener(Listener listener);

// Writes one line; `request_id` may be empty for lines outside any request.
void Write(Level level, std::string_view request_id, std::string_view message);

template <typename... Args>
void Info(std::string_view request_id, fmt::format_string<Args...> format, Args&&... args) {
  Write(Level::kInfo, request_id, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(std::string_view request_id, fmt::format_string<Args...> format, Args&&... args) {
  Write(Level::kWarn, request_id, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(std::string_view request_id, fmt::format_string<Args...> format, Args&&... args) {
  Write(Level::kError, request_id, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Debug(std::string_view request_id, fmt::format_string<Args...> format, Args&&... args) {
  Write(Level::kDebug, request_id, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace runvoy::core::log
