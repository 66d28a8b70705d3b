#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "core/records.h"

namespace runvoy::server {

// The wire form of a log event (SPEC.md §2.3): {event_id, timestamp (Unix ms), message, stream,
// partial (only when true)}.
boost::json::object LogEventToJson(const core::LogEvent& event);

// LogEventToJson serialized.
std::string SerializeLogEvent(const core::LogEvent& event);

}  // namespace runvoy::server
