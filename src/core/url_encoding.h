#pragma once

// Percent-encoding of what goes into URLs (RFC 3986): everything but the unreserved characters
// A-Z a-z 0-9 - _ . ~ becomes %XX.

#include <string>
#include <string_view>

namespace runvoy::core {

// One path segment or query value.
std::string UrlEncode(std::string_view text);
// A path that may hold several segments (image references): keeps '/', ':' and '@' as well.
std::string UrlEncodePath(std::string_view text);

}  // namespace runvoy::core
