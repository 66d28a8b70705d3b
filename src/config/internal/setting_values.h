#pragma once

// The scalar values of settings, as text: what the server configuration's layers (YAML, the
// environment, flags) accept, and how a duration is written back.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace runvoy::config::internal {

// `text` without leading and trailing spaces and tabs.
std::string Trim(const std::string& text);
std::string Lower(std::string text);
// "a, b,,c" → {"a", "b", "c"}: trimmed, empty items dropped.
std::vector<std::string> SplitCommaList(const std::string& text);
// A whole decimal integer; nullopt for anything else (sign allowed, no spaces).
std::optional<int64_t> ParseInt(const std::string& text);
// true/on/yes or false/off/no, in any case.
std::optional<bool> ParseBool(const std::string& text);
// An http:// or https:// URL with something after the scheme and no white space.
bool IsHttpUrl(const std::string& text);
// "10.0.0.1", "::1", "10.0.0.0/8", "fd00::/8".
bool IsAddressOrCidr(const std::string& text);

struct HostPort {
  std::string host;
  int port = 0;
};
// "127.0.0.1:56212", "0.0.0.0:0", "[::1]:8080", "localhost:80" (IPv6 needs brackets).
std::optional<HostPort> ParseHostPort(const std::string& text);

// `duration` in the largest unit that says it exactly: "2h", "90m", "45s", "1500ms".
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace runvoy::config::internal
