#pragma once

// API keys and claim tokens (SPEC.md §2.1): formats, hashing, and the sealed chosen key.

#include <string>
#include <string_view>

#include "core/error.h"

namespace runvoy::auth {

inline constexpr std::size_t kClaimTokenLength = 32;
inline constexpr std::size_t kWebSocketTokenLength = 32;

// A key chosen by an admin: 20–256 characters of [A-Za-z0-9._~-]; kInvalidRequest otherwise.
core::Result<void> ValidateChosenKey(std::string_view key);

// Keys and tokens are stored and looked up only by this hash (hex SHA-256).
std::string HashSecretToken(std::string_view key_or_token);

// Seals a chosen API key so that only the holder of the claim token can read it back.
core::Result<std::string> SealKeyForClaim(std::string_view claim_token, std::string_view api_key);
core::Result<std::string> OpenKeyWithClaim(std::string_view claim_token, std::string_view sealed);

// Whether `text` is shaped like a claim or WebSocket token (URL-safe characters, sane length);
// lets handlers answer 404 without a store lookup.
bool LooksLikeToken(std::string_view text);

}  // namespace runvoy::auth
