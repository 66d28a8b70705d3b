#include "common/json_fields.h"

#include <limits>

namespace runvoy::common {

std::string StringField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : std::string();
}

int64_t IntField(const boost::json::object& object, std::string_view key, int64_t fallback) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr) {
    return fallback;
  }
  if (value->is_int64()) {
    return value->get_int64();
  }
  if (value->is_uint64() &&
      value->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(value->get_uint64());
  }
  return fallback;
}

}  // namespace runvoy::common
