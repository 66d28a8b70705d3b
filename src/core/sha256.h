#pragma once

#include <string>
#include <string_view>

namespace runvoy::core {

std::string Sha256(std::string_view data);     // 32 raw bytes
std::string Sha256Hex(std::string_view data);  // 64 lowercase hex characters
std::string HexEncode(std::string_view bytes);

}  // namespace runvoy::core
