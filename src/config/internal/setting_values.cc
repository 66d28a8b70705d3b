#include "config/internal/setting_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <sstream>

#include <arpa/inet.h>
#include <fmt/format.h>

namespace runvoy::config::internal {

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::vector<std::string> SplitCommaList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    item = Trim(item);
    if (!item.empty()) {
      items.push_back(item);
    }
  }
  return items;
}

std::optional<int64_t> ParseInt(const std::string& text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ParseBool(const std::string& text) {
  const std::string lower = Lower(text);
  if (lower == "true" || lower == "on" || lower == "yes") {
    return true;
  }
  if (lower == "false" || lower == "off" || lower == "no") {
    return false;
  }
  return std::nullopt;
}

bool IsHttpUrl(const std::string& text) {
  for (const char* scheme : {"http://", "https://"}) {
    const std::size_t length = std::strlen(scheme);
    if (text.size() > length && text.compare(0, length, scheme) == 0 &&
        text.find_first_of(" \t\r\n") == std::string::npos) {
      return true;
    }
  }
  return false;
}

namespace {

bool IsIpAddress(const std::string& text) {
  in6_addr address{};  // large enough for either family
  return inet_pton(AF_INET, text.c_str(), &address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

}  // namespace

bool IsAddressOrCidr(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    return IsIpAddress(text);
  }
  const std::string address = text.substr(0, slash);
  const auto bits = ParseInt(text.substr(slash + 1));
  if (!IsIpAddress(address) || !bits || *bits < 0) {
    return false;
  }
  const bool v6 = address.find(':') != std::string::npos;
  return *bits <= (v6 ? 128 : 32);
}

std::optional<HostPort> ParseHostPort(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return std::nullopt;  // IPv6 needs brackets
    }
  }
  if (host.empty() || host.find_first_of(" \t/") != std::string::npos) {
    return std::nullopt;
  }
  const auto number = ParseInt(port);
  if (!number || *number < 0 || *number > 65535) {
    return std::nullopt;
  }
  return HostPort{host, static_cast<int>(*number)};
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 != 0) {
    return fmt::format("{}ms", ms);
  }
  const auto seconds = ms / 1000;
  if (seconds % 3600 == 0 && seconds != 0) {
    return fmt::format("{}h", seconds / 3600);
  }
  if (seconds % 60 == 0 && seconds != 0) {
    return fmt::format("{}m", seconds / 60);
  }
  return fmt::format("{}s", seconds);
}

}  // namespace runvoy::config::internal
