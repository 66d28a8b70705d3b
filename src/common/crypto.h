#pragma once

// Cryptographic primitives on OpenSSL. Thread-safe; never throw.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/sha256.h"

namespace runvoy::common {

std::string RandomBytes(std::size_t count);    // from the CSPRNG; aborts if it fails

std::string Base64Encode(std::string_view bytes);     // standard alphabet, padded
std::string Base64UrlEncode(std::string_view bytes);  // URL-safe alphabet, no padding
core::Result<std::string> Base64Decode(std::string_view text);  // standard, padded or not

// AES-256-GCM with a fresh random 12-byte nonce. `key` is 32 raw bytes; `associated_data` is
// authenticated but not encrypted. Output: nonce | ciphertext | 16-byte tag.
core::Result<std::string> AesGcmSeal(std::string_view key, std::string_view plaintext,
                                     std::string_view associated_data);
// kInvalidRequest when the key, associated data or sealed text do not match.
core::Result<std::string> AesGcmOpen(std::string_view key, std::string_view sealed,
                                     std::string_view associated_data);

// Compares in time independent of where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace runvoy::common
