#pragma once

// Reading request bodies: a JSON object with typed, validated fields. Every failure is
// kInvalidRequest naming the field, so clients learn what to fix.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/error.h"

namespace runvoy::server {

class JsonBody {
 public:
  // kInvalidRequest when `text` is not a JSON object. An empty body counts as {}.
  static core::Result<JsonBody> Parse(const std::string& text);

  // Each getter: nullopt when absent or null; kInvalidRequest when of the wrong type.
  core::Result<std::optional<std::string>> String(const char* field) const;
  core::Result<std::optional<bool>> Bool(const char* field) const;
  core::Result<std::optional<int64_t>> Integer(const char* field) const;
  core::Result<std::optional<std::vector<std::string>>> StringList(const char* field) const;
  core::Result<std::optional<std::map<std::string, std::string>>> StringMap(const char* field) const;
  // kInvalidRequest when absent or empty.
  core::Result<std::string> RequiredString(const char* field) const;

 private:
  explicit JsonBody(boost::json::object object) : object_(std::move(object)) {}
  const boost::json::value* Find(const char* field) const;

  boost::json::object object_;
};

}  // namespace runvoy::server
