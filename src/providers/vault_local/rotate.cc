#include "providers/vault_local/rotate.h"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "common/crypto.h"
#include "providers/vault_local/key_material.h"
#include "providers/vault_local/local_vault.h"

namespace runvoy::providers::vault_local {
namespace {

using internal::kBlobPrefix;
using internal::KeyError;
using internal::kFingerprintSetting;
using internal::kRotationSetting;

std::string Short(const std::string& fingerprint) {
  return fingerprint.substr(0, 12);
}

// The keys a rotation works with.
struct RotationKeys {
  std::string new_key;
  std::optional<std::string> old_key;  // absent when a resumed run no longer has it
};

class Rotation {
 public:
  Rotation(const contract::ProviderContext& context, contract::Store& store)
      : store_(store),
        env_mode_(!context.Get("master_key").empty()),
        master_key_text_(context.Get("master_key")),
        key_file_(internal::KeyFilePath(context)),
        new_key_file_(key_file_ + ".new") {}

  core::Result<RotationReport> Run(const std::string& new_key_base64) {
    auto current = CurrentKey();
    if (!current) return tl::unexpected(current.error());
    std::optional<std::string> given;
    if (!new_key_base64.empty()) {
      auto decoded = internal::DecodeKey(new_key_base64, "RUNVOY_NEW_MASTER_KEY");
      if (!decoded) return tl::unexpected(decoded.error());
      given = *decoded;
    }
    auto pending = internal::ReadSetting(store_, kRotationSetting);
    if (!pending) return tl::unexpected(pending.error());
    auto stored = internal::ReadSetting(store_, kFingerprintSetting);
    if (!stored) return tl::unexpected(stored.error());

    auto keys =
        *pending ? Resume(**pending, *stored, *current, given) : Begin(*stored, *current, given);
    if (!keys) return tl::unexpected(keys.error());

    RotationReport report;
    report.new_fingerprint = KeyFingerprint(keys->new_key);
    if (auto resealed = ResealAll(*keys, report); !resealed) {
      return tl::unexpected(resealed.error());
    }
    if (auto finished = Finish(keys->new_key, report.new_fingerprint); !finished) {
      return tl::unexpected(finished.error());
    }
    if (!env_mode_) report.key_file = key_file_;
    return report;
  }

 private:
  core::Result<std::string> CurrentKey() {
    if (env_mode_) return internal::DecodeKey(master_key_text_, "RUNVOY_MASTER_KEY");
    auto key = internal::ReadKeyFile(key_file_);
    if (!key) return tl::unexpected(key.error());
    if (!*key) {
      return tl::unexpected(KeyError(
          fmt::format("no master key to rotate: {} does not exist and RUNVOY_MASTER_KEY is not set",
                      key_file_)));
    }
    return **key;
  }

  core::Result<bool> HasSecrets() {
    auto names = store_.Blobs().Names();
    if (!names) return tl::unexpected(names.error());
    for (const std::string& name : *names) {
      if (name.rfind(kBlobPrefix, 0) == 0) return true;
    }
    return false;
  }

  // A fresh rotation: checks the current key, chooses the new one and records the rotation.
  core::Result<RotationKeys> Begin(const std::optional<std::string>& stored,
                                   const std::string& current,
                                   const std::optional<std::string>& given) {
    if (stored && *stored != KeyFingerprint(current)) {
      auto has_secrets = HasSecrets();
      if (!has_secrets) return tl::unexpected(has_secrets.error());
      if (*has_secrets) {
        return tl::unexpected(KeyError(fmt::format(
            "the current master key ({}) is not the one the stored secrets are encrypted with "
            "({}): rotate-key needs that key",
            Short(KeyFingerprint(current)), Short(*stored))));
      }
    }
    if (!given && env_mode_) {
      return tl::unexpected(
          KeyError("RUNVOY_MASTER_KEY is set: give the new key (32 bytes, base64) in "
                   "RUNVOY_NEW_MASTER_KEY, then start the server with it as RUNVOY_MASTER_KEY"));
    }
    if (!given && store_.IsShared()) {
      return tl::unexpected(KeyError(
          "the store is shared: give the new key (32 bytes, base64) in RUNVOY_NEW_MASTER_KEY; "
          "a shared store never gets an invented key"));
    }
    const std::string new_key = given ? *given : common::RandomBytes(32);
    if (new_key == current) {
      return tl::unexpected(KeyError("the new master key is the current one"));
    }
    // The new key is safe on disk before anything is sealed under it.
    if (!env_mode_) {
      if (auto written = internal::WriteKeyFile(new_key_file_, new_key, false); !written) {
        return tl::unexpected(written.error());
      }
    }
    if (auto marked = store_.Settings().Put(kRotationSetting, KeyFingerprint(new_key)); !marked) {
      return tl::unexpected(marked.error());
    }
    return RotationKeys{new_key, current};
  }

  // An interrupted rotation to the key with fingerprint `pending`: finds that key again.
  core::Result<RotationKeys> Resume(const std::string& pending,
                                    const std::optional<std::string>& stored,
                                    const std::string& current,
                                    const std::optional<std::string>& given) {
    if (given && KeyFingerprint(*given) != pending) {
      return tl::unexpected(KeyError(fmt::format(
          "an interrupted rotation to another key ({}) must finish first: re-run rotate-key with "
          "that key in RUNVOY_NEW_MASTER_KEY{}",
          Short(pending),
          env_mode_ ? "" : fmt::format(" or without it (keeping {})", new_key_file_))));
    }
    std::vector<std::string> candidates;
    if (given) candidates.push_back(*given);
    if (!env_mode_) {
      auto saved = internal::ReadKeyFile(new_key_file_);
      if (!saved) return tl::unexpected(saved.error());
      if (*saved) candidates.push_back(**saved);
    }
    candidates.push_back(current);  // the key file may already hold the new key
    for (const std::string& candidate : candidates) {
      if (KeyFingerprint(candidate) != pending) continue;
      RotationKeys keys{candidate, std::nullopt};
      if (candidate != current && (!stored || *stored == KeyFingerprint(current))) {
        keys.old_key = current;
      }
      return keys;
    }
    const std::string where =
        env_mode_ ? std::string()
                  : fmt::format(" (it is neither in {} nor in {})", new_key_file_, key_file_);
    return tl::unexpected(KeyError(fmt::format(
        "an interrupted rotation to key {} cannot finish without that key{}: give it in "
        "RUNVOY_NEW_MASTER_KEY",
        Short(pending), where)));
  }

  core::Result<void> ResealAll(const RotationKeys& keys, RotationReport& report) {
    auto names = store_.Blobs().Names();
    if (!names) return tl::unexpected(names.error());
    const std::string prefix = kBlobPrefix;
    for (const std::string& blob : *names) {
      if (blob.rfind(prefix, 0) != 0) continue;
      const std::string name = blob.substr(prefix.size());  // the associated data
      auto sealed = store_.Blobs().Get(blob);
      if (!sealed) return tl::unexpected(sealed.error());
      if (!*sealed) continue;  // removed meanwhile
      if (common::AesGcmOpen(keys.new_key, **sealed, name)) {
        ++report.already_rotated;
        continue;
      }
      auto opened = keys.old_key ? common::AesGcmOpen(*keys.old_key, **sealed, name)
                                 : core::Result<std::string>(tl::unexpected(core::Error{}));
      if (!opened) {
        return tl::unexpected(KeyError(fmt::format(
            "the value of secret {} opens with neither the current nor the new master key; "
            "nothing else was changed: re-run rotate-key with the key it was sealed under as "
            "the current key",
            name)));
      }
      auto resealed = common::AesGcmSeal(keys.new_key, *opened, name);
      if (!resealed) return tl::unexpected(resealed.error());
      if (auto put = store_.Blobs().Put(blob, *resealed); !put) return put;
      ++report.reencrypted;
    }
    return {};
  }

  // Installs the new key file, then makes the new key the store's key and ends the rotation.
  core::Result<void> Finish(const std::string& new_key, const std::string& fingerprint) {
    if (!env_mode_) {
      auto in_file = internal::ReadKeyFile(key_file_);
      if (!in_file) return tl::unexpected(in_file.error());
      if (!*in_file || **in_file != new_key) {
        auto saved = internal::ReadKeyFile(new_key_file_);
        if (!saved) return tl::unexpected(saved.error());
        if (!*saved || **saved != new_key) {
          if (auto written = internal::WriteKeyFile(new_key_file_, new_key, false); !written) {
            return written;
          }
        }
        if (auto replaced = internal::ReplaceFile(new_key_file_, key_file_); !replaced) {
          return replaced;
        }
      }
    }
    if (auto put = store_.Settings().Put(kFingerprintSetting, fingerprint); !put) return put;
    return store_.Settings().Put(kRotationSetting, "");
  }

  contract::Store& store_;
  const bool env_mode_;
  const std::string master_key_text_;
  const std::string key_file_;
  const std::string new_key_file_;
};

}  // namespace

core::Result<RotationReport> RotateMasterKey(const contract::ProviderContext& context,
                                             contract::Store& store,
                                             const std::string& new_key_base64) {
  return Rotation(context, store).Run(new_key_base64);
}

}  // namespace runvoy::providers::vault_local
