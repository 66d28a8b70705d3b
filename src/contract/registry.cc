#include "contract/registry.h"

#include <fmt/format.h>

namespace runvoy::contract {
namespace {

template <typename Map>
std::vector<std::string> SortedNames(const Map& map) {
  std::vector<std::string> names;
  for (const auto& [name, entry] : map) names.push_back(name);
  return names;
}

template <typename Map>
core::Error UnknownProvider(ProviderKind kind, const std::string& name, const Map& map) {
  return core::Error{core::ErrorCode::kInvalidRequest,
                     fmt::format("unknown {} provider \"{}\" (known: {})",
                                 ProviderKindName(kind), name,
                                 fmt::join(SortedNames(map), ", "))};
}

}  // namespace

std::string ProviderContext::Get(const std::string& key, const std::string& fallback) const {
  const auto it = section.find(key);
  return it == section.end() ? fallback : it->second;
}

std::string_view ProviderKindName(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kStore: return "store";
    case ProviderKind::kCompute: return "compute";
    case ProviderKind::kVault: return "vault";
  }
  return "store";
}

void Registry::AddStore(std::string name, std::vector<std::string> keys, StoreFactory factory) {
  stores_[std::move(name)] = {std::move(keys), std::move(factory)};
}

void Registry::AddCompute(std::string name, std::vector<std::string> keys,
                          ComputeFactory factory) {
  computes_[std::move(name)] = {std::move(keys), std::move(factory)};
}

void Registry::AddVault(std::string name, std::vector<std::string> keys, VaultFactory factory,
                        VaultKeyRotation rotation) {
  if (rotation) vault_rotations_[name] = std::move(rotation);
  vaults_[std::move(name)] = {std::move(keys), std::move(factory)};
}

Result<std::unique_ptr<Store>> Registry::MakeStore(const std::string& name,
                                                   const ProviderContext& context) const {
  const auto it = stores_.find(name);
  if (it == stores_.end()) return tl::unexpected(UnknownProvider(ProviderKind::kStore, name, stores_));
  return it->second.factory(context);
}

Result<std::unique_ptr<ComputeProvider>> Registry::MakeCompute(
    const std::string& name, const ProviderContext& context) const {
  const auto it = computes_.find(name);
  if (it == computes_.end()) {
    return tl::unexpected(UnknownProvider(ProviderKind::kCompute, name, computes_));
  }
  return it->second.factory(context);
}

Result<std::unique_ptr<SecretVault>> Registry::MakeVault(const std::string& name,
                                                         const ProviderContext& context,
                                                         Store& store) const {
  const auto it = vaults_.find(name);
  if (it == vaults_.end()) return tl::unexpected(UnknownProvider(ProviderKind::kVault, name, vaults_));
  return it->second.factory(context, store);
}

Result<std::string> Registry::RotateVaultKey(const std::string& name,
                                             const ProviderContext& context, Store& store,
                                             const std::string& new_key) const {
  if (vaults_.count(name) == 0) return tl::unexpected(UnknownProvider(ProviderKind::kVault, name, vaults_));
  const auto it = vault_rotations_.find(name);
  if (it == vault_rotations_.end()) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("vault provider {} keeps its own keys; rotate them there", name));
  }
  return it->second(context, store, new_key);
}

std::optional<std::vector<std::string>> Registry::Keys(ProviderKind kind,
                                                       const std::string& name) const {
  auto find = [&](const auto& map) -> std::optional<std::vector<std::string>> {
    const auto it = map.find(name);
    if (it == map.end()) return std::nullopt;
    return it->second.keys;
  };
  switch (kind) {
    case ProviderKind::kStore: return find(stores_);
    case ProviderKind::kCompute: return find(computes_);
    case ProviderKind::kVault: return find(vaults_);
  }
  return std::nullopt;
}

std::vector<std::string> Registry::Names(ProviderKind kind) const {
  switch (kind) {
    case ProviderKind::kStore: return SortedNames(stores_);
    case ProviderKind::kCompute: return SortedNames(computes_);
    case ProviderKind::kVault: return SortedNames(vaults_);
  }
  return {};
}

}  // namespace runvoy::contract
