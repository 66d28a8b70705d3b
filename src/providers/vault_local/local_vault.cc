#include "providers/vault_local/local_vault.h"

#include <memory>

#include <fmt/format.h>

#include "common/crypto.h"
#include "core/sha256.h"
#include "providers/vault_local/key_material.h"
#include "providers/vault_local/rotate.h"

namespace runvoy::providers::vault_local {
namespace {

using internal::kBlobPrefix;
using internal::KeyError;
using internal::kFingerprintSetting;
using internal::kRotationSetting;

core::Result<std::string> ReadOrCreateKeyFile(const std::string& path, bool may_create) {
  auto existing = internal::ReadKeyFile(path);
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) return **existing;
  if (!may_create) {
    return tl::unexpected(KeyError(fmt::format(
        "no master key: set RUNVOY_MASTER_KEY or vault.local.key_file ({} does not exist); a "
        "shared store never gets an invented key",
        path)));
  }
  std::string key = common::RandomBytes(32);
  if (auto written = internal::WriteKeyFile(path, key, true); !written) {
    return tl::unexpected(written.error());
  }
  return key;
}

core::Error RotationInProgress(const std::string& new_fingerprint) {
  return KeyError(fmt::format(
      "a master key rotation (to key {}) was interrupted: run `runvoy server rotate-key` again "
      "to finish it before starting the server",
      new_fingerprint.substr(0, 12)));
}

class LocalVault final : public contract::SecretVault {
 public:
  LocalVault(contract::Store& store, std::string key)
      : store_(store), key_(std::move(key)), fingerprint_(KeyFingerprint(key_)) {}

  std::string Name() const override { return "local"; }

  core::Result<void> Put(const std::string& name, const std::string& value) override {
    // A value sealed under a key that `rotate-key` has replaced meanwhile would be lost.
    if (auto current = KeyIsCurrent(); !current) return current;
    auto sealed = common::AesGcmSeal(key_, value, name);
    if (!sealed) return tl::unexpected(sealed.error());
    return store_.Blobs().Put(kBlobPrefix + name, *sealed);
  }

  core::Result<std::optional<std::string>> Get(const std::string& name) override {
    auto sealed = store_.Blobs().Get(kBlobPrefix + name);
    if (!sealed) return tl::unexpected(sealed.error());
    if (!*sealed) return std::optional<std::string>();
    auto opened = common::AesGcmOpen(key_, **sealed, name);
    if (!opened) {
      if (auto current = KeyIsCurrent(); !current) return tl::unexpected(current.error());
      return core::Fail(core::ErrorCode::kInternal, "a stored secret does not decrypt",
                        "the value was sealed under another master key or altered");
    }
    return std::optional<std::string>(*opened);
  }

  core::Result<void> Remove(const std::string& name) override {
    return store_.Blobs().Remove(kBlobPrefix + name);
  }

 private:
  // kServiceUnavailable when a rotation has started or finished since this vault was made.
  core::Result<void> KeyIsCurrent() {
    auto rotating = internal::ReadSetting(store_, kRotationSetting);
    if (!rotating) return tl::unexpected(rotating.error());
    auto stored = internal::ReadSetting(store_, kFingerprintSetting);
    if (!stored) return tl::unexpected(stored.error());
    if (*rotating || (*stored && **stored != fingerprint_)) {
      return core::Fail(core::ErrorCode::kServiceUnavailable, "the master key is being rotated",
                        "restart the server with the new master key");
    }
    return {};
  }

  contract::Store& store_;
  const std::string key_;  // raw 32 bytes; never logged
  const std::string fingerprint_;
};

core::Result<std::unique_ptr<contract::SecretVault>> MakeLocalVault(
    const contract::ProviderContext& context, contract::Store& store) {
  auto rotating = internal::ReadSetting(store, kRotationSetting);
  if (!rotating) return tl::unexpected(rotating.error());
  if (*rotating) return tl::unexpected(RotationInProgress(**rotating));
  core::Result<std::string> key;
  if (const std::string given = context.Get("master_key"); !given.empty()) {
    key = internal::DecodeKey(given, "RUNVOY_MASTER_KEY");
  } else {
    key = ReadOrCreateKeyFile(internal::KeyFilePath(context), !store.IsShared());
  }
  if (!key) return tl::unexpected(key.error());

  const std::string fingerprint = KeyFingerprint(*key);
  auto stored = store.Settings().Get(kFingerprintSetting);
  if (!stored) return tl::unexpected(stored.error());
  if (*stored && **stored != fingerprint) {
    auto names = store.Blobs().Names();
    if (!names) return tl::unexpected(names.error());
    bool has_secrets = false;
    for (const std::string& name : *names) {
      has_secrets = has_secrets || name.rfind(kBlobPrefix, 0) == 0;
    }
    if (has_secrets) {
      return tl::unexpected(
          KeyError("the master key does not match the one the stored secrets were encrypted with "
                   "(use the original key, or `runvoy server rotate-key`)"));
    }
  }
  if (!*stored || **stored != fingerprint) {
    if (auto put = store.Settings().Put(kFingerprintSetting, fingerprint); !put) {
      return tl::unexpected(put.error());
    }
  }
  return std::make_unique<LocalVault>(store, *key);
}

}  // namespace

std::string KeyFingerprint(const std::string& raw_key) {
  return core::Sha256Hex("runvoy master key fingerprint v1:" + raw_key);
}

void Register(contract::Registry& registry) {
  registry.AddVault("local", {"key_file"}, MakeLocalVault,
                    [](const contract::ProviderContext& context, contract::Store& store,
                       const std::string& new_key) -> core::Result<std::string> {
                      auto report = RotateMasterKey(context, store, new_key);
                      if (!report) return tl::unexpected(report.error());
                      std::string earlier;
                      if (report->already_rotated > 0) {
                        earlier = fmt::format(" ({} already done by an earlier run)",
                                              report->already_rotated);
                      }
                      return fmt::format("re-encrypted {} secrets{}; new key fingerprint {}",
                                         report->reencrypted, earlier,
                                         report->new_fingerprint.substr(0, 12));
                    });
}

}  // namespace runvoy::providers::vault_local
