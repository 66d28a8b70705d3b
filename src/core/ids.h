#pragma once

#include <string>

namespace runvoy::core {

// Makes the random identifiers runvoy hands out, injectable in tests. Thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // 32 lowercase hex characters (128 random bits): request and execution IDs.
  virtual std::string NewHexId() = 0;
  // `length` URL-safe characters [A-Za-z0-9_-] from a CSPRNG: claim and WebSocket tokens.
  virtual std::string NewToken(std::size_t length) = 0;
  // 24 random bytes as base64url without padding (32 characters): API keys.
  virtual std::string NewApiKey() = 0;
};

// Zero-padded decimal so that event IDs sort as strings in output order.
std::string FormatEventId(long long sequence);
// Inverse of FormatEventId; -1 when `text` is not a plain non-negative number.
long long ParseEventId(const std::string& text);

}  // namespace runvoy::core
