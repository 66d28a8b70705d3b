#pragma once

// Secrets (SPEC.md §2.6): metadata in the store, values in the vault.

#include <optional>
#include <string>
#include <vector>

#include "contract/compute.h"
#include "contract/store.h"
#include "contract/vault.h"
#include "core/records.h"
#include "core/time.h"
#include "service/caller.h"

namespace runvoy::service {

struct SecretInput {
  std::string name;
  std::string key_name;
  std::string value;
  std::string description;
};

struct SecretChange {
  std::optional<std::string> key_name;  // absent or empty = keep
  std::optional<std::string> value;
  std::optional<std::string> description;
};

struct SecretWithValue {
  core::Secret secret;
  std::string value;
};

// Thread-safe; blocks on the store and the vault. Errors never contain a value.
class Secrets {
 public:
  Secrets(contract::Store& store, contract::SecretVault& vault, const core::Clock& clock);

  core::Result<void> Create(const Caller& caller, const SecretInput& input);
  // Everything for admins and operators; a developer's own secrets otherwise.
  core::Result<std::vector<core::Secret>> List(const Caller& caller);
  core::Result<SecretWithValue> Get(const Caller& caller, const std::string& name);
  core::Result<void> Update(const Caller& caller, const std::string& name,
                            const SecretChange& change);
  core::Result<void> Remove(const Caller& caller, const std::string& name);

  // The values a run injects: kInvalidRequest for an unknown name, kForbidden for one the
  // caller may not use.
  core::Result<std::vector<contract::SecretEnv>> ResolveForRun(
      const Caller& caller, const std::vector<std::string>& names);

 private:
  core::Result<core::Secret> Authorized(const Caller& caller, const std::string& name, bool read);

  contract::Store& store_;
  contract::SecretVault& vault_;
  const core::Clock& clock_;
};

bool IsValidSecretName(const std::string& name);
bool IsValidEnvName(const std::string& name);

}  // namespace runvoy::service
