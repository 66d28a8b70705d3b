#pragma once

// Master key rotation for vault "local" (`runvoy server rotate-key`). Run it with every server
// on the store stopped.

#include <string>

#include "contract/registry.h"
#include "contract/store.h"
#include "core/error.h"

namespace runvoy::providers::vault_local {

struct RotationReport {
  int reencrypted = 0;      // values re-sealed under the new key by this run
  int already_rotated = 0;  // values an interrupted earlier run had already re-sealed
  std::string new_fingerprint;
  std::string key_file;  // the key file now holding the new key; "" when keys come from the env
};

// Re-seals every secret value in `store` under a new master key, so that no value is lost
// when interrupted at any point: running it again finishes the job.
//
// The current key is the one the vault uses with `context` ("master_key" = RUNVOY_MASTER_KEY,
// else the key file). The new key is `new_key_base64` (RUNVOY_NEW_MASTER_KEY) when given;
// else, with a key file, a fresh random key. With a key file, the new key is first written to
// <key_file>.new (0600) and renamed over the key file at the end; with RUNVOY_MASTER_KEY,
// `new_key_base64` is required and no file is written.
//
// Steps: the new key's fingerprint is recorded in the store as "rotation in progress" (servers
// refuse to start meanwhile); every value is re-sealed, one atomic write each, skipping those
// that already open with the new key; then the stored fingerprint becomes the new one and the
// in-progress mark is cleared. A re-run after an interruption takes the new key from
// `new_key_base64`, <key_file>.new or the current key, whichever has the recorded fingerprint.
//
// Errors (kInvalidRequest unless the store fails) never contain key material or values.
core::Result<RotationReport> RotateMasterKey(const contract::ProviderContext& context,
                                             contract::Store& store,
                                             const std::string& new_key_base64);

}  // namespace runvoy::providers::vault_local
