#include "providers/stored/run_request_json.h"

#include <vector>

#include <boost/json.hpp>

#include "common/json_fields.h"

namespace runvoy::providers::stored {

namespace json = boost::json;

namespace {

std::vector<std::string> StringList(const json::object& object, const char* key) {
  std::vector<std::string> out;
  if (const auto* value = object.if_contains(key); value != nullptr && value->is_array()) {
    for (const json::value& item : value->get_array()) {
      if (item.is_string()) {
        out.emplace_back(item.get_string());
      }
    }
  }
  return out;
}

}  // namespace

std::string RunRequestToJson(const core::RunRequestSummary& request) {
  json::object object;
  object["env_keys"] = json::value_from(request.env_keys);
  object["secrets"] = json::value_from(request.secrets);
  object["git_repo"] = request.git_repo;
  object["git_ref"] = request.git_ref;
  object["git_path"] = request.git_path;
  return json::serialize(object);
}

core::RunRequestSummary RunRequestFromJson(const std::string& text) {
  core::RunRequestSummary request;
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) {
    return request;
  }
  const json::object& object = value.get_object();
  request.env_keys = StringList(object, "env_keys");
  request.secrets = StringList(object, "secrets");
  request.git_repo = common::StringField(object, "git_repo");
  request.git_ref = common::StringField(object, "git_ref");
  request.git_path = common::StringField(object, "git_path");
  return request;
}

}  // namespace runvoy::providers::stored
