#pragma once

// Internal to vault "local": the master key's sources, files and the settings it keeps in the
// store. Shared by the vault (local_vault.cc) and key rotation (rotate.cc).

#include <optional>
#include <string>

#include "contract/registry.h"
#include "core/error.h"

namespace runvoy::providers::vault_local::internal {

// The store setting holding the fingerprint of the key every secret is sealed under.
inline constexpr const char* kFingerprintSetting = "vault.local.key_fingerprint";
// The store setting holding the new key's fingerprint while a rotation is in progress ("" or
// absent otherwise).
inline constexpr const char* kRotationSetting = "vault.local.rotation_to";
// Secret values are the blobs named kBlobPrefix + the secret's name.
inline constexpr const char* kBlobPrefix = "secret/";

// An error about the key that is safe to show: never contains key material.
core::Error KeyError(std::string message);

// The raw 32-byte key from its base64 text (surrounding whitespace ignored). `origin` names
// where the text came from, for the error.
core::Result<std::string> DecodeKey(const std::string& text, const std::string& origin);

// The key file's path for `context`: section key "key_file", default <data_dir>/master.key.
std::string KeyFilePath(const contract::ProviderContext& context);

// The raw key kept in the file at `path`; nullopt when the file does not exist.
core::Result<std::optional<std::string>> ReadKeyFile(const std::string& path);

// Writes `raw_key` (base64 and a newline) to `path`, mode 0600, replacing any file there, and
// syncs it to disk. With `exclusive`, fails when `path` exists.
core::Result<void> WriteKeyFile(const std::string& path, const std::string& raw_key,
                                bool exclusive);

// Renames `from` over `to` and syncs the directory, so the change survives a crash.
core::Result<void> ReplaceFile(const std::string& from, const std::string& to);

// A store setting, with "" read as absent.
core::Result<std::optional<std::string>> ReadSetting(contract::Store& store,
                                                     const std::string& key);

}  // namespace runvoy::providers::vault_local::internal
