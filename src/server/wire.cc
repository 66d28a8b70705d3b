#include "server/wire.h"

namespace runvoy::server {

boost::json::value OptionalTime(const std::optional<core::TimePoint>& time) {
  if (!time) return nullptr;
  return boost::json::string(core::FormatRfc3339(*time));
}

boost::json::array StringArray(const std::vector<std::string>& items) {
  boost::json::array array;
  for (const std::string& item : items) array.emplace_back(item);
  return array;
}

boost::json::object UserJson(const core::User& user) {
  boost::json::object json;
  json["email"] = user.email;
  json["role"] = core::RoleName(user.role);
  json["status"] = core::UserStatusName(user.status);
  json["created_at"] = core::FormatRfc3339(user.created_at);
  json["revoked"] = user.revoked();
  if (user.last_used) json["last_used"] = core::FormatRfc3339(*user.last_used);
  json["created_by_request_id"] = user.created_by_request_id;
  json["modified_by_request_id"] = user.modified_by_request_id;
  return json;
}

boost::json::object ImageJson(const core::Image& image) {
  boost::json::object json;
  json["image_id"] = image.image_id;
  json["image"] = image.image;
  json["is_default"] = image.is_default;
  json["cpu"] = image.cpu;
  json["memory"] = image.memory;
  json["runtime_platform"] = image.runtime_platform;
  if (!image.image_registry.empty()) json["image_registry"] = image.image_registry;
  json["image_name"] = image.image_name;
  json["image_tag"] = image.image_tag;
  if (!image.image_digest.empty()) json["image_digest"] = image.image_digest;
  if (!image.task_role_name.empty()) json["task_role_name"] = image.task_role_name;
  if (!image.task_execution_role_name.empty()) {
    json["task_execution_role_name"] = image.task_execution_role_name;
  }
  json["created_by"] = image.created_by;
  json["owned_by"] = StringArray(image.owned_by);
  json["created_at"] = core::FormatRfc3339(image.created_at);
  json["created_by_request_id"] = image.created_by_request_id;
  json["modified_by_request_id"] = image.modified_by_request_id;
  return json;
}

boost::json::object ExecutionJson(const core::Execution& execution) {
  boost::json::object json;
  json["execution_id"] = execution.execution_id;
  json["created_by"] = execution.created_by;
  json["owned_by"] = StringArray(execution.owned_by);
  json["command"] = execution.command;
  json["image_id"] = execution.image_id;
  json["started_at"] = core::FormatRfc3339(execution.started_at);
  if (execution.completed_at) json["completed_at"] = core::FormatRfc3339(*execution.completed_at);
  json["status"] = core::StatusName(execution.status);
  if (execution.exit_code) {
    json["exit_code"] = *execution.exit_code;
  } else {
    json["exit_code"] = nullptr;
  }
  if (execution.completed_at) {
    json["duration_seconds"] =
        static_cast<double>((*execution.completed_at - execution.started_at).count()) / 1000.0;
  }
  json["log_stream_name"] = execution.log_stream_name;
  json["created_by_request_id"] = execution.created_by_request_id;
  json["modified_by_request_id"] = execution.modified_by_request_id;
  json["cloud"] = execution.cloud;
  json["node"] = execution.node;
  json["timeout_seconds"] = execution.timeout_seconds;
  boost::json::object timings;
  timings["accepted"] = OptionalTime(execution.timings.accepted);
  timings["started"] = OptionalTime(execution.timings.started);
  timings["first_output"] = OptionalTime(execution.timings.first_output);
  timings["finished"] = OptionalTime(execution.timings.finished);
  json["timings"] = std::move(timings);
  boost::json::object request;
  request["env_keys"] = StringArray(execution.request.env_keys);
  request["secrets"] = StringArray(execution.request.secrets);
  request["git_repo"] = execution.request.git_repo;
  request["git_ref"] = execution.request.git_ref;
  request["git_path"] = execution.request.git_path;
  json["request"] = std::move(request);
  return json;
}

boost::json::object ExecutionStatusJson(const core::Execution& execution) {
  boost::json::object json;
  json["execution_id"] = execution.execution_id;
  json["status"] = core::StatusName(execution.status);
  json["command"] = execution.command;
  json["image_id"] = execution.image_id;
  json["started_at"] = core::FormatRfc3339(execution.started_at);
  if (execution.exit_code) {
    json["exit_code"] = *execution.exit_code;
  } else {
    json["exit_code"] = nullptr;
  }
  if (execution.completed_at) json["completed_at"] = core::FormatRfc3339(*execution.completed_at);
  return json;
}

boost::json::object SecretJson(const core::Secret& secret) {
  boost::json::object json;
  json["name"] = secret.name;
  json["key_name"] = secret.key_name;
  if (!secret.description.empty()) json["description"] = secret.description;
  json["created_by"] = secret.created_by;
  json["owned_by"] = StringArray(secret.owned_by);
  json["created_at"] = core::FormatRfc3339(secret.created_at);
  json["updated_at"] = core::FormatRfc3339(secret.updated_at);
  json["updated_by"] = secret.updated_by;
  json["created_by_request_id"] = secret.created_by_request_id;
  json["modified_by_request_id"] = secret.modified_by_request_id;
  return json;
}

boost::json::object AuditEntryJson(const core::AuditEntry& entry) {
  boost::json::object json;
  json["seq"] = entry.seq;
  json["time"] = core::FormatRfc3339(entry.time);
  json["node"] = entry.node;
  json["request_id"] = entry.request_id;
  if (!entry.client_request_id.empty()) json["client_request_id"] = entry.client_request_id;
  json["user"] = entry.user;
  json["role"] = entry.role;
  json["method"] = entry.method;
  json["path"] = entry.path;
  json["status"] = entry.status;
  json["client_ip"] = entry.client_ip;
  if (!entry.resource.empty()) json["resource"] = entry.resource;
  if (!entry.detail.empty()) json["detail"] = entry.detail;
  json["prev_hash"] = entry.prev_hash;
  json["hash"] = entry.hash;
  return json;
}

}  // namespace runvoy::server
