#include "auth/api_keys.h"

#include <cctype>

#include "common/crypto.h"
#include "core/sha256.h"

namespace runvoy::auth {
namespace {

constexpr std::string_view kClaimSealLabel = "runvoy claim seal v1:";

std::string ClaimSealKey(std::string_view claim_token) {
  return core::Sha256(std::string(kClaimSealLabel) + std::string(claim_token));
}

}  // namespace

core::Result<void> ValidateChosenKey(std::string_view key) {
  if (key.size() < 20 || key.size() > 256) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid api_key",
                      "a chosen key must be 20 to 256 characters long");
  }
  for (char c : key) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == '~' || c == '-';
    if (!ok) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid api_key",
                        "a chosen key may only contain A-Z a-z 0-9 . _ ~ -");
    }
  }
  return {};
}

std::string HashSecretToken(std::string_view key_or_token) { return core::Sha256Hex(key_or_token); }

core::Result<std::string> SealKeyForClaim(std::string_view claim_token, std::string_view api_key) {
  return common::AesGcmSeal(ClaimSealKey(claim_token), api_key, kClaimSealLabel);
}

core::Result<std::string> OpenKeyWithClaim(std::string_view claim_token, std::string_view sealed) {
  return common::AesGcmOpen(ClaimSealKey(claim_token), sealed, kClaimSealLabel);
}

bool LooksLikeToken(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace runvoy::auth
