#include "server/log_event_json.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "core/ids.h"

namespace runvoy::server {

boost::json::object LogEventToJson(const core::LogEvent& event) {
  boost::json::object object;
  object["event_id"] = core::FormatEventId(event.sequence);
  object["timestamp"] = event.timestamp_ms;
  object["message"] = event.message;
  const std::string_view stream = core::LogStreamName(event.stream);
  object["stream"] = boost::json::string(stream.data(), stream.size());
  if (event.partial) {
    object["partial"] = true;
  }
  return object;
}

std::string SerializeLogEvent(const core::LogEvent& event) {
  return boost::json::serialize(LogEventToJson(event));
}

}  // namespace runvoy::server
