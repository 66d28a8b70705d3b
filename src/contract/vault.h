#pragma once

// The secret vault contract: keeps secret values by name. Metadata lives in the store; the
// value only here. local: AES-256-GCM encrypted into the store; a cloud: its secret manager.
// Blocking, thread-safe, never throws. kServiceUnavailable when the vault cannot be reached.

#include <optional>
#include <string>

#include "core/error.h"

namespace runvoy::contract {

using core::Result;

class SecretVault {
 public:
  virtual ~SecretVault() = default;
  virtual std::string Name() const = 0;
  // Creates or replaces the value of `name`.
  virtual Result<void> Put(const std::string& name, const std::string& value) = 0;
  // nullopt when no value is stored under `name`.
  virtual Result<std::optional<std::string>> Get(const std::string& name) = 0;
  // Removing a missing value is not an error.
  virtual Result<void> Remove(const std::string& name) = 0;
};

}  // namespace runvoy::contract
