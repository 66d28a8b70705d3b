#include "common/random_ids.h"

#include "common/crypto.h"

namespace runvoy::common {

std::string RandomIdGenerator::NewHexId() { return core::HexEncode(RandomBytes(16)); }

std::string RandomIdGenerator::NewToken(std::size_t length) {
  // base64url of enough random bytes, cut to length: every character is uniformly random.
  std::string token = Base64UrlEncode(RandomBytes(length));
  token.resize(length);
  return token;
}

std::string RandomIdGenerator::NewApiKey() { return Base64UrlEncode(RandomBytes(24)); }

}  // namespace runvoy::common
