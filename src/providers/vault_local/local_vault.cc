#include "providers/vault_local/local_vault.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "common/crypto.h"
#include "core/sha256.h"

namespace runvoy::providers::vault_local {
namespace {

constexpr const char* kFingerprintSetting = "vault.local.key_fingerprint";
constexpr const char* kBlobPrefix = "secret/";

core::Error VaultError(std::string message) {
  return {core::ErrorCode::kInvalidRequest, std::move(message), {}};
}

core::Result<std::string> DecodeKey(const std::string& text, const std::string& origin) {
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' ||
                              trimmed.back() == ' ')) {
    trimmed.pop_back();
  }
  auto raw = common::Base64Decode(trimmed);
  if (!raw || raw->size() != 32) {
    return tl::unexpected(
        VaultError(fmt::format("{}: the master key must be 32 bytes, base64-encoded", origin)));
  }
  return *raw;
}

core::Result<std::string> ReadOrCreateKeyFile(const std::string& path, bool may_create) {
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    return DecodeKey(text.str(), path);
  }
  if (!may_create) {
    return tl::unexpected(VaultError(fmt::format(
        "no master key: set RUNVOY_MASTER_KEY or vault.local.key_file ({} does not exist); a "
        "shared store never gets an invented key",
        path)));
  }
  const std::string encoded = common::Base64Encode(common::RandomBytes(32)) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return tl::unexpected(VaultError(fmt::format("cannot create master key file {}", path)));
  }
  const bool written = ::write(fd, encoded.data(), encoded.size()) ==
                       static_cast<ssize_t>(encoded.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return tl::unexpected(VaultError(fmt::format("cannot write {}", path)));
  return DecodeKey(encoded, path);
}

class LocalVault final : public contract::SecretVault {
 public:
  LocalVault(contract::Store& store, std::string key) : store_(store), key_(std::move(key)) {}

  std::string Name() const override { return "local"; }

  core::Result<void> Put(const std::string& name, const std::string& value) override {
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
      return core::Fail(core::ErrorCode::kInternal, "a stored secret does not decrypt",
                        "the value was sealed under another master key or altered");
    }
    return std::optional<std::string>(*opened);
  }

  core::Result<void> Remove(const std::string& name) override {
    return store_.Blobs().Remove(kBlobPrefix + name);
  }

 private:
  contract::Store& store_;
  const std::string key_;  // raw 32 bytes; never logged
};

core::Result<std::unique_ptr<contract::SecretVault>> MakeLocalVault(
    const contract::ProviderContext& context, contract::Store& store) {
  core::Result<std::string> key;
  if (const std::string given = context.Get("master_key"); !given.empty()) {
    key = DecodeKey(given, "RUNVOY_MASTER_KEY");
  } else {
    const std::string default_path = context.data_dir + "/master.key";
    key = ReadOrCreateKeyFile(context.Get("key_file", default_path), !store.IsShared());
  }
  if (!key) return tl::unexpected(key.error());

  const std::string fingerprint = KeyFingerprint(*key);
  auto stored = store.Settings().Get(kFingerprintSetting);
  if (!stored) return tl::unexpected(stored.error());
  if (*stored && **stored != fingerprint) {
    auto names = store.Blobs().Names();
    if (!names) return tl::unexpected(names.error());
    bool has_secrets = false;
    for (const std::string& name : *names) has_secrets = has_secrets || name.rfind(kBlobPrefix, 0) == 0;
    if (has_secrets) {
      return tl::unexpected(VaultError(
          "the master key does not match the one the stored secrets were encrypted with "
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
  registry.AddVault("local", {"key_file"}, MakeLocalVault);
}

}  // namespace runvoy::providers::vault_local
