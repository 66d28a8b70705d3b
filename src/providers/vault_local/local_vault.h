#pragma once

#include <string>

#include "contract/registry.h"
#include "core/error.h"

namespace runvoy::providers::vault_local {

// Registers vault "local": values AES-256-GCM encrypted (fresh nonce per write, the secret's
// name as associated data) into the store, under a 32-byte master key given as base64 in
// RUNVOY_MASTER_KEY (context key "master_key") or read from `key_file` (default
// <data_dir>/master.key, created 0600 on first start when the store is not shared).
void Register(contract::Registry& registry);

// The master key's fingerprint as kept in the store (hex SHA-256 of a label and the key).
std::string KeyFingerprint(const std::string& raw_key);

}  // namespace runvoy::providers::vault_local
