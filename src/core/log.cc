#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <mutex>

#include "core/time.h"

namespace runvoy::core::log {
namespace {

std::atomic<Format> g_format{Format::kText};
std::atomic<Level> g_min_level{Level::kInfo};
std::mutex g_listener_mutex;  // guards g_listener
Listener g_listener;

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

void Configure(Format format, Level min_level) {
  g_format = format;
  g_min_level = min_level;
}

bool ParseLevel(std::string_view name, Level& level) {
  if (name == "debug" || name == "trace") {
    level = Level::kDebug;
  } else if (name == "info") {
    level = Level::kInfo;
  } else if (name == "warn") {
    level = Level::kWarn;
  } else if (name == "error") {
    level = Level::kError;
  } else {
    return false;
  }
  return true;
}

void SetListener(Listener listener) {
  std::scoped_lock lock(g_listener_mutex);
  g_listener = std::move(listener);
}

void Write(Level level, std::string_view request_id, std::string_view message) {
  if (static_cast<int>(level) < static_cast<int>(g_min_level.load())) return;
  const std::string time = FormatRfc3339(WallClock().Now());
  std::string line;
  if (g_format == Format::kJson) {
    line = "{\"time\":";
    AppendJsonString(line, time);
    line += ",\"level\":";
    AppendJsonString(line, LevelName(level));
    if (!request_id.empty()) {
      line += ",\"request_id\":";
      AppendJsonString(line, request_id);
    }
    line += ",\"msg\":";
    AppendJsonString(line, message);
    line += "}\n";
  } else {
    line = fmt::format("{} {:<5} {}{}{}\n", time, LevelName(level),
                       request_id.empty() ? "" : "request_id=", request_id,
                       request_id.empty() ? std::string(message) : " " + std::string(message));
  }
  // One write per line keeps lines whole when several threads log at once.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  std::scoped_lock lock(g_listener_mutex);
  if (g_listener) g_listener(level, request_id, message);
}

}  // namespace runvoy::core::log
