#include "cli/log_printer.h"

#include <map>

#include "core/ids.h"
#include "core/time.h"

namespace runvoy::cli {

namespace json = boost::json;

std::optional<LogEvent> ParseLogEvent(const json::value& value) {
  if (!value.is_object()) {
    return std::nullopt;
  }
  const json::object& object = value.as_object();
  const json::value* id = object.if_contains("event_id");
  const json::value* message = object.if_contains("message");
  if (id == nullptr || message == nullptr || !message->is_string()) {
    return std::nullopt;
  }
  LogEvent event;
  if (id->is_string()) {
    event.event_id = std::string(id->as_string());
  } else if (id->is_int64() || id->is_uint64()) {
    event.event_id = std::to_string(id->to_number<long long>());
  } else {
    return std::nullopt;
  }
  event.message = std::string(message->as_string());
  if (const json::value* ts = object.if_contains("timestamp"); ts && ts->is_number()) {
    event.timestamp_ms = ts->to_number<int64_t>();
  }
  if (const json::value* stream = object.if_contains("stream"); stream && stream->is_string()) {
    event.stream = std::string(stream->as_string());
  }
  if (const json::value* partial = object.if_contains("partial"); partial && partial->is_bool()) {
    event.partial = partial->as_bool();
  }
  return event;
}

std::vector<LogEvent> ParseLogEvents(const json::value& array) {
  std::vector<LogEvent> events;
  if (!array.is_array()) {
    return events;
  }
  for (const json::value& item : array.as_array()) {
    if (auto event = ParseLogEvent(item)) {
      events.push_back(std::move(*event));
    }
  }
  return events;
}

bool EventIdBefore(const std::string& a, const std::string& b) {
  const long long na = core::ParseEventId(a);
  const long long nb = core::ParseEventId(b);
  if (na >= 0 && nb >= 0) {
    return na < nb;
  }
  return a < b;
}

bool LogPrinter::Write(const LogEvent& event) {
  if (!last_event_id_.empty() && !EventIdBefore(last_event_id_, event.event_id)) {
    return false;
  }
  std::ostream& target = event.stream == "stdout" ? out_ : err_;
  target << event.message;
  if (!event.partial) {
    target << '\n';
  }
  target.flush();
  last_event_id_ = event.event_id;
  ++written_;
  return true;
}

std::vector<LogLine> JoinLogLines(const std::vector<LogEvent>& events) {
  std::vector<LogLine> lines;
  // Index in `lines` of the open (partial) line of each stream.
  std::map<std::string, size_t> open;
  for (const LogEvent& event : events) {
    auto it = open.find(event.stream);
    if (it != open.end()) {
      lines[it->second].message += event.message;
      if (!event.partial) {
        open.erase(it);
      }
      continue;
    }
    LogLine line;
    line.number = static_cast<int>(lines.size()) + 1;
    line.timestamp_ms = event.timestamp_ms;
    line.stream = event.stream;
    line.message = event.message;
    lines.push_back(std::move(line));
    if (event.partial) {
      open[event.stream] = lines.size() - 1;
    }
  }
  return lines;
}

void PrintLogTable(std::ostream& out, const Style& style, const std::vector<LogLine>& lines) {
  size_t number_width = 4;
  for (const LogLine& line : lines) {
    number_width = std::max(number_width, std::to_string(line.number).size());
  }
  const std::string sep = " | ";
  const std::string ts_header = "Timestamp (UTC)";
  const size_t ts_width = 24;  // "2026-11-30T05:02:53.123Z"
  auto pad = [](std::string text, size_t width) {
    if (text.size() < width) {
      text += std::string(width - text.size(), ' ');
    }
    return text;
  };
  out << style.Bold(pad("Line", number_width) + sep + pad(ts_header, ts_width) + sep + "Message")
      << "\n";
  for (const LogLine& line : lines) {
    std::string number = std::to_string(line.number);
    number = std::string(number_width - number.size(), ' ') + number;
    std::string message = line.message;
    if (line.stream == "stderr") {
      message = style.Red(message);
    }
    if (line.stream == "runvoy") {
      message = style.Dim(message);
    }
    out << number << sep
        << pad(core::FormatRfc3339(core::FromUnixMillis(line.timestamp_ms)), ts_width) << sep
        << message << "\n";
  }
}

}  // namespace runvoy::cli
