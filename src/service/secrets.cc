#include "service/secrets.h"

#include <algorithm>
#include <cctype>

#include "auth/policy.h"

namespace runvoy::service {
namespace {

constexpr std::size_t kMinValueBytes = 4;
constexpr std::size_t kMaxValueBytes = 64 * 1024;

bool Owns(const core::Secret& secret, const std::string& email) {
  return std::find(secret.owned_by.begin(), secret.owned_by.end(), email) != secret.owned_by.end();
}

core::Result<void> ValidateValue(const std::string& value) {
  if (value.size() < kMinValueBytes || value.size() > kMaxValueBytes) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid value",
                      "a secret value must be 4 bytes to 64 KiB");
  }
  return {};
}

core::Result<void> ValidateKeyName(const std::string& key_name) {
  if (!IsValidEnvName(key_name)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid key_name",
                      "key_name must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
  }
  return {};
}

core::Error SecretNotFound() { return {core::ErrorCode::kSecretNotFound, "secret not found", {}}; }

}  // namespace

bool IsValidSecretName(const std::string& name) {
  if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool IsValidEnvName(const std::string& name) {
  if (name.empty() || name.size() > 256) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

Secrets::Secrets(contract::Store& store, contract::SecretVault& vault, const core::Clock& clock)
    : store_(store), vault_(vault), clock_(clock) {}

core::Result<void> Secrets::Create(const Caller& caller, const SecretInput& input) {
  if (!IsValidSecretName(input.name)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid name",
                      "name must match [A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  }
  if (auto ok = ValidateKeyName(input.key_name); !ok) return ok;
  if (auto ok = ValidateValue(input.value); !ok) return ok;
  const core::TimePoint now = clock_.Now();
  core::Secret secret;
  secret.name = input.name;
  secret.key_name = input.key_name;
  secret.description = input.description;
  secret.created_by = caller.email;
  secret.owned_by = {caller.email};
  secret.created_at = now;
  secret.updated_at = now;
  secret.updated_by = caller.email;
  secret.created_by_request_id = caller.request_id;
  secret.modified_by_request_id = caller.request_id;
  // The metadata row is the conditional create: a duplicate stops here, before the value.
  if (auto created = store_.Secrets().Create(secret); !created) return created;
  if (auto put = vault_.Put(input.name, input.value); !put) {
    (void)store_.Secrets().Remove(input.name);
    return put;
  }
  return {};
}

core::Result<std::vector<core::Secret>> Secrets::List(const Caller& caller) {
  auto all = store_.Secrets().List();
  if (!all) return all;
  const auth::Scope scope = auth::ScopeOf(caller.role, auth::Action::kListSecrets);
  if (scope == auth::Scope::kAll) return all;
  std::vector<core::Secret> own;
  if (scope == auth::Scope::kOwn) {
    for (core::Secret& secret : *all) {
      if (Owns(secret, caller.email)) own.push_back(std::move(secret));
    }
  }
  return own;
}

core::Result<core::Secret> Secrets::Authorized(const Caller& caller, const std::string& name,
                                               bool read) {
  if (!IsValidSecretName(name)) return tl::unexpected(SecretNotFound());
  auto found = store_.Secrets().Get(name);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return tl::unexpected(SecretNotFound());
  const auth::Action action = read ? auth::Action::kReadSecret : auth::Action::kUpdateSecret;
  if (!auth::Allows(caller.role, action, Owns(**found, caller.email))) {
    return core::Fail(core::ErrorCode::kForbidden, "not allowed to access this secret");
  }
  return **found;
}

core::Result<SecretWithValue> Secrets::Get(const Caller& caller, const std::string& name) {
  auto secret = Authorized(caller, name, true);
  if (!secret) return tl::unexpected(secret.error());
  auto value = vault_.Get(name);
  if (!value) return tl::unexpected(value.error());
  if (!*value) return core::Fail(core::ErrorCode::kInternal, "secret has no stored value");
  return SecretWithValue{*secret, **value};
}

core::Result<void> Secrets::Update(const Caller& caller, const std::string& name,
                                   const SecretChange& change) {
  auto secret = Authorized(caller, name, false);
  if (!secret) return tl::unexpected(secret.error());
  const bool new_key = change.key_name && !change.key_name->empty();
  const bool new_value = change.value && !change.value->empty();
  if (new_key) {
    if (auto ok = ValidateKeyName(*change.key_name); !ok) return ok;
    secret->key_name = *change.key_name;
  }
  if (new_value) {
    if (auto ok = ValidateValue(*change.value); !ok) return ok;
  }
  if (change.description && !change.description->empty()) {
    secret->description = *change.description;
  }
  secret->updated_at = clock_.Now();
  secret->updated_by = caller.email;
  secret->modified_by_request_id = caller.request_id;
  if (new_value) {
    if (auto put = vault_.Put(name, *change.value); !put) return put;
  }
  return store_.Secrets().Update(*secret);
}

core::Result<void> Secrets::Remove(const Caller& caller, const std::string& name) {
  auto secret = Authorized(caller, name, false);
  if (!secret) return tl::unexpected(secret.error());
  if (auto removed = store_.Secrets().Remove(name); !removed) return removed;
  return vault_.Remove(name);
}

core::Result<std::vector<contract::SecretEnv>> Secrets::ResolveForRun(
    const Caller& caller, const std::vector<std::string>& names) {
  std::vector<contract::SecretEnv> resolved;
  for (const std::string& name : names) {
    auto found = IsValidSecretName(name) ? store_.Secrets().Get(name)
                                         : core::Result<std::optional<core::Secret>>();
    if (!found) return tl::unexpected(found.error());
    if (!*found) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "unknown secret", name);
    }
    if (!auth::Allows(caller.role, auth::Action::kUseSecret, Owns(**found, caller.email))) {
      return core::Fail(core::ErrorCode::kForbidden, "not allowed to use this secret", name);
    }
    auto value = vault_.Get(name);
    if (!value) return tl::unexpected(value.error());
    if (!*value) return core::Fail(core::ErrorCode::kInternal, "secret has no stored value", name);
    resolved.push_back({name, (*found)->key_name, **value});
  }
  return resolved;
}

}  // namespace runvoy::service
