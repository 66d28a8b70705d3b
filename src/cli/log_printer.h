#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "cli/output.h"

namespace runvoy::cli {

// One log event of SPEC.md §2.3.
struct LogEvent {
  std::string event_id;
  int64_t timestamp_ms = 0;
  std::string message;
  std::string stream = "stdout";  // "stdout", "stderr" or "runvoy"
  bool partial = false;           // more pieces of the same line follow
};

// nullopt when `value` is not an object with a string `event_id` and `message`.
std::optional<LogEvent> ParseLogEvent(const boost::json::value& value);
// The events of a JSON array (items that are not events are skipped).
std::vector<LogEvent> ParseLogEvents(const boost::json::value& array);

// True when event `a` comes before event `b` in output order: numerically for the usual
// zero-padded sequence numbers, else as strings.
bool EventIdBefore(const std::string& a, const std::string& b);

// Writes log events as the command produced them: stdout events to `out`, stderr and runvoy
// events to `err`, one line per event except that a partial piece gets no newline, so the
// pieces of a split line are rejoined. Remembers the last event written and skips events at
// or before it, so replays after a reconnect never print a line twice.
class LogPrinter {
 public:
  LogPrinter(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  // Returns whether the event was written (false: already seen).
  bool Write(const LogEvent& event);
  // "" until an event was written.
  const std::string& last_event_id() const { return last_event_id_; }
  // Makes everything up to `event_id` count as already written.
  void SkipThrough(const std::string& event_id) { last_event_id_ = event_id; }
  int written() const { return written_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
  std::string last_event_id_;
  int written_ = 0;
};

// A whole line of output, its pieces rejoined.
struct LogLine {
  int number = 0;            // 1-based
  int64_t timestamp_ms = 0;  // of its first piece
  std::string stream;
  std::string message;
};

// Rejoins partial pieces (per stream) and numbers the lines.
std::vector<LogLine> JoinLogLines(const std::vector<LogEvent>& events);

// The table `Line | Timestamp (UTC) | Message`; stderr lines in red and runvoy lines dimmed
// when colour is on.
void PrintLogTable(std::ostream& out, const Style& style, const std::vector<LogLine>& lines);

}  // namespace runvoy::cli
