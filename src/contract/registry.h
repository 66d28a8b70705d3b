#pragma once

// Providers register here by name; the server builds the configured ones at start.
// providers/builtin.cc holds the one explicit list of Register() calls.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "contract/compute.h"
#include "contract/store.h"
#include "contract/vault.h"
#include "core/error.h"
#include "core/time.h"

namespace runvoy::contract {

// What a provider is built from: the generic settings it may need plus its own YAML section
// (e.g. compute.local), flattened to "key" or "key.sub" → scalar text.
struct ProviderContext {
  std::string data_dir;
  std::string node_id;
  std::string runvoy_binary;  // absolute path of the running runvoy executable
  const core::Clock* clock = nullptr;
  std::map<std::string, std::string> section;

  // The section's value for `key`, or `fallback` when absent.
  std::string Get(const std::string& key, const std::string& fallback = {}) const;
};

using StoreFactory = std::function<Result<std::unique_ptr<Store>>(const ProviderContext&)>;
using ComputeFactory =
    std::function<Result<std::unique_ptr<ComputeProvider>>(const ProviderContext&)>;
using VaultFactory =
    std::function<Result<std::unique_ptr<SecretVault>>(const ProviderContext&, Store& store)>;
// Re-encrypts a vault's values under a new master key (`runvoy server rotate-key`), offline;
// returns the one-line summary to print. `new_key` may be empty when the vault makes one.
using VaultKeyRotation = std::function<Result<std::string>(
    const ProviderContext&, Store& store, const std::string& new_key)>;

enum class ProviderKind { kStore, kCompute, kVault };
std::string_view ProviderKindName(ProviderKind kind);  // "store", "compute", "vault"

// Not thread-safe: filled once at start-up, then only read.
class Registry {
 public:
  // `keys` are the keys the provider's YAML section accepts (anything else is a start-up error).
  void AddStore(std::string name, std::vector<std::string> keys, StoreFactory factory);
  void AddCompute(std::string name, std::vector<std::string> keys, ComputeFactory factory);
  // `rotation` is for vaults that keep their own master key; others leave it empty.
  void AddVault(std::string name, std::vector<std::string> keys, VaultFactory factory,
                VaultKeyRotation rotation = nullptr);

  // kInvalidRequest naming the known providers when `name` is not registered.
  Result<std::unique_ptr<Store>> MakeStore(const std::string& name,
                                           const ProviderContext& context) const;
  Result<std::unique_ptr<ComputeProvider>> MakeCompute(const std::string& name,
                                                       const ProviderContext& context) const;
  Result<std::unique_ptr<SecretVault>> MakeVault(const std::string& name,
                                                 const ProviderContext& context,
                                                 Store& store) const;
  // kInvalidRequest when the vault is unknown or keeps no master key of its own.
  Result<std::string> RotateVaultKey(const std::string& name, const ProviderContext& context,
                                     Store& store, const std::string& new_key) const;

  // The keys a provider's section accepts; nullopt when no such provider is registered.
  std::optional<std::vector<std::string>> Keys(ProviderKind kind, const std::string& name) const;
  std::vector<std::string> Names(ProviderKind kind) const;  // sorted

 private:
  template <typename Factory>
  struct Entry {
    std::vector<std::string> keys;
    Factory factory;
  };
  std::map<std::string, Entry<StoreFactory>> stores_;
  std::map<std::string, Entry<ComputeFactory>> computes_;
  std::map<std::string, Entry<VaultFactory>> vaults_;
  std::map<std::string, VaultKeyRotation> vault_rotations_;
};

}  // namespace runvoy::contract
