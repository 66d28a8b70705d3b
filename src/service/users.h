#pragma once

// Users and API keys (SPEC.md §2.1): create, claim, list, revoke, authenticate, seed.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "contract/store.h"
#include "core/ids.h"
#include "core/time.h"
#include "core/records.h"
#include "service/caller.h"

namespace runvoy::service {

inline constexpr std::chrono::minutes kClaimValidity{15};

struct CreatedUser {
  core::User user;
  std::string claim_token;
};

struct ClaimedKey {
  std::string api_key;
  std::string email;
};

// Thread-safe; every method blocks on the store.
class Users {
 public:
  Users(contract::Store& store, const core::Clock& clock, core::IdGenerator& ids);

  // kInvalidRequest for a bad e-mail, role or chosen key; kConflict for a duplicate.
  core::Result<CreatedUser> Create(const Caller& caller, const std::string& email,
                                   const std::string& role, const std::optional<std::string>& api_key);
  // kNotFound for an unknown or expired token, kConflict when claimed already.
  core::Result<ClaimedKey> Claim(const std::string& token, const std::string& request_id);
  core::Result<std::vector<core::User>> List();
  // kNotFound, or kConflict for the last active admin.
  core::Result<core::User> Revoke(const Caller& caller, const std::string& email);

  // The active user holding `api_key`: kUnauthorized when empty, kInvalidApiKey when unknown,
  // kApiKeyRevoked when revoked, kDatabase when the store is down.
  core::Result<core::User> Authenticate(const std::string& api_key);

  // --seed-admin: creates the admin when no user has that e-mail. Returns the key when it was
  // generated here (to print once), nullopt when the admin existed or the key was chosen.
  core::Result<std::optional<std::string>> SeedAdmin(const std::string& email,
                                                     const std::optional<std::string>& chosen_key);
  // reset-admin: (re)activates `email` as an admin with a new generated key, returned once.
  core::Result<std::string> ResetAdmin(const std::string& email);

 private:
  contract::Store& store_;
  const core::Clock& clock_;
  core::IdGenerator& ids_;
};

// Whether `email` looks like a deliverable address (one @, a dotted domain, no spaces).
bool IsValidEmail(const std::string& email);

}  // namespace runvoy::service
