#pragma once

// Lenient reads of one field of a JSON object, for documents whose fields may be absent.

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace runvoy::common {

// The string at `key`; empty when the field is absent or not a string.
std::string StringField(const boost::json::object& object, std::string_view key);

// The integer at `key`; `fallback` when the field is absent or not an integer that fits.
int64_t IntField(const boost::json::object& object, std::string_view key, int64_t fallback);

}  // namespace runvoy::common
