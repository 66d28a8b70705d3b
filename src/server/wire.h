#pragma once

// The JSON shape of each record on the wire (SPEC.md §2). Fields that must never leave the
// server (key hashes, task handles, secret values) are simply not written here.

#include <boost/json.hpp>

#include "core/records.h"

namespace runvoy::server {

boost::json::object UserJson(const core::User& user);
boost::json::object ImageJson(const core::Image& image);
boost::json::object ExecutionJson(const core::Execution& execution);
// The short form of GET /executions/{id}/status.
boost::json::object ExecutionStatusJson(const core::Execution& execution);
boost::json::object SecretJson(const core::Secret& secret);
boost::json::object AuditEntryJson(const core::AuditEntry& entry);

// RFC 3339, or null when absent.
boost::json::value OptionalTime(const std::optional<core::TimePoint>& time);
boost::json::array StringArray(const std::vector<std::string>& items);

}  // namespace runvoy::server
