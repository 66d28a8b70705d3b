#pragma once

#include "core/ids.h"

namespace runvoy::common {

// IDs and tokens from OpenSSL's CSPRNG.
class RandomIdGenerator final : public core::IdGenerator {
 public:
  std::string NewHexId() override;
  std::string NewToken(std::size_t length) override;
  std::string NewApiKey() override;
};

}  // namespace runvoy::common
