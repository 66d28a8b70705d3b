#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/records.h"
#include "server/http_message.h"
#include "service/caller.h"

namespace runvoy::server {

// Everything a handler knows about the request it answers.
struct RequestContext {
  const HttpRequest& request;
  std::vector<std::string> params;  // the route's {placeholders}
  std::map<std::string, std::string> query;
  std::string request_id;
  std::string client_ip;
  std::optional<core::User> user;  // set on authenticated routes
  service::Caller caller;
  std::string public_base_url;  // "http(s)://host[:port]" as clients reach the server
  // What the request touched, for the audit trail (never a secret value or token).
  std::string audit_resource;
  std::string audit_detail;

  // The query parameter's value, or "" when absent.
  std::string Query(const std::string& name) const {
    const auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
};

}  // namespace runvoy::server
