#include "server/json_body.h"

#include <fmt/format.h>

namespace runvoy::server {
namespace {

tl::unexpected<core::Error> WrongType(const char* field, const char* expected) {
  return core::Fail(core::ErrorCode::kInvalidRequest, "invalid request body",
                    fmt::format("field \"{}\" must be {}", field, expected));
}

}  // namespace

core::Result<JsonBody> JsonBody::Parse(const std::string& text) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return JsonBody(boost::json::object());
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 32;
  boost::json::value value = boost::json::parse(text, ec, {}, options);
  if (ec) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "malformed JSON", ec.message());
  }
  if (!value.is_object()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid request body",
                      "the body must be a JSON object");
  }
  return JsonBody(std::move(value.as_object()));
}

const boost::json::value* JsonBody::Find(const char* field) const {
  const auto* value = object_.if_contains(field);
  if (value == nullptr || value->is_null()) return nullptr;
  return value;
}

core::Result<std::optional<std::string>> JsonBody::String(const char* field) const {
  const auto* value = Find(field);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) return WrongType(field, "a string");
  return std::optional<std::string>(std::string(value->as_string()));
}

core::Result<std::optional<bool>> JsonBody::Bool(const char* field) const {
  const auto* value = Find(field);
  if (value == nullptr) return std::optional<bool>();
  if (!value->is_bool()) return WrongType(field, "true or false");
  return std::optional<bool>(value->as_bool());
}

core::Result<std::optional<int64_t>> JsonBody::Integer(const char* field) const {
  const auto* value = Find(field);
  if (value == nullptr) return std::optional<int64_t>();
  if (value->is_int64()) return std::optional<int64_t>(value->as_int64());
  if (value->is_uint64() && value->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return std::optional<int64_t>(static_cast<int64_t>(value->as_uint64()));
  }
  if (value->is_double()) {
    const double d = value->as_double();
    // The range first: converting a double outside int64_t's range is undefined behaviour.
    if (d > -9e15 && d < 9e15 && d == static_cast<double>(static_cast<int64_t>(d))) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return WrongType(field, "an integer");
}

core::Result<std::optional<std::vector<std::string>>> JsonBody::StringList(
    const char* field) const {
  const auto* value = Find(field);
  if (value == nullptr) return std::optional<std::vector<std::string>>();
  if (!value->is_array()) return WrongType(field, "an array of strings");
  std::vector<std::string> items;
  for (const auto& item : value->as_array()) {
    if (!item.is_string()) return WrongType(field, "an array of strings");
    items.emplace_back(item.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(items));
}

core::Result<std::optional<std::map<std::string, std::string>>> JsonBody::StringMap(
    const char* field) const {
  const auto* value = Find(field);
  if (value == nullptr) return std::optional<std::map<std::string, std::string>>();
  if (!value->is_object()) return WrongType(field, "an object of strings");
  std::map<std::string, std::string> items;
  for (const auto& [key, item] : value->as_object()) {
    if (!item.is_string()) return WrongType(field, "an object of strings");
    items.emplace(std::string(key), std::string(item.as_string()));
  }
  return std::optional<std::map<std::string, std::string>>(std::move(items));
}

core::Result<std::string> JsonBody::RequiredString(const char* field) const {
  auto value = String(field);
  if (!value) return tl::unexpected(value.error());
  if (!*value || (*value)->empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, fmt::format("{} is required", field));
  }
  return **value;
}

}  // namespace runvoy::server
