#include "service/users.h"

#include <algorithm>
#include <cctype>

#include "auth/api_keys.h"

namespace runvoy::service {

bool IsValidEmail(const std::string& email) {
  if (email.size() < 3 || email.size() > 254) return false;
  const auto at = email.find('@');
  if (at == std::string::npos || at == 0 || email.find('@', at + 1) != std::string::npos) {
    return false;
  }
  const std::string domain = email.substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == std::string::npos || dot == 0 || domain.back() == '.' ||
      domain.find("..") != std::string::npos) {
    return false;
  }
  return std::none_of(email.begin(), email.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)) ||
           c == '/' || c == '\\' || c == '"' || c == '<' || c == '>' || c == ',' || c == ';';
  });
}

Users::Users(contract::Store& store, const core::Clock& clock, core::IdGenerator& ids)
    : store_(store), clock_(clock), ids_(ids) {}

core::Result<CreatedUser> Users::Create(const Caller& caller, const std::string& email,
                                        const std::string& role,
                                        const std::optional<std::string>& api_key) {
  if (!IsValidEmail(email)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid email", "not a valid e-mail address");
  }
  const auto parsed_role = core::ParseRole(role);
  if (!parsed_role) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid role",
                      "role must be one of admin, operator, developer, viewer");
  }
  const core::TimePoint now = clock_.Now();
  CreatedUser created;
  created.claim_token = ids_.NewToken(auth::kClaimTokenLength);

  core::ClaimToken token;
  token.token_hash = auth::HashSecretToken(created.claim_token);
  token.email = email;
  token.created_at = now;
  token.expires_at = now + kClaimValidity;

  core::User& user = created.user;
  user.email = email;
  user.role = *parsed_role;
  user.status = core::UserStatus::kPending;
  user.created_at = now;
  user.expires_at = token.expires_at;
  user.created_by_request_id = caller.request_id;
  user.modified_by_request_id = caller.request_id;
  if (api_key) {
    if (auto valid = auth::ValidateChosenKey(*api_key); !valid) return tl::unexpected(valid.error());
    auto sealed = auth::SealKeyForClaim(created.claim_token, *api_key);
    if (!sealed) return tl::unexpected(sealed.error());
    token.sealed_api_key = *sealed;
    user.api_key_hash = auth::HashSecretToken(*api_key);
  }
  if (auto stored = store_.Users().CreatePending(user, token, now); !stored) {
    return tl::unexpected(stored.error());
  }
  return created;
}

core::Result<ClaimedKey> Users::Claim(const std::string& token, const std::string& request_id) {
  if (!auth::LooksLikeToken(token)) {
    return core::Fail(core::ErrorCode::kNotFound, "claim token not found");
  }
  const std::string token_hash = auth::HashSecretToken(token);
  auto stored = store_.Users().GetClaimToken(token_hash);
  if (!stored) return tl::unexpected(stored.error());
  if (!*stored) return core::Fail(core::ErrorCode::kNotFound, "claim token not found");

  std::string api_key;
  if ((*stored)->sealed_api_key.empty()) {
    api_key = ids_.NewApiKey();
  } else {
    auto opened = auth::OpenKeyWithClaim(token, (*stored)->sealed_api_key);
    if (!opened) return core::Fail(core::ErrorCode::kInternal, "claim token cannot be opened");
    api_key = *opened;
  }
  auto claimed = store_.Users().Claim(token_hash, auth::HashSecretToken(api_key), clock_.Now(),
                                      request_id);
  if (!claimed) return tl::unexpected(claimed.error());
  return ClaimedKey{api_key, claimed->user.email};
}

core::Result<std::vector<core::User>> Users::List() { return store_.Users().List(clock_.Now()); }

core::Result<core::User> Users::Revoke(const Caller& caller, const std::string& email) {
  if (!IsValidEmail(email)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid email", "not a valid e-mail address");
  }
  return store_.Users().Revoke(email, caller.request_id);
}

core::Result<core::User> Users::Authenticate(const std::string& api_key) {
  if (api_key.empty()) return core::Fail(core::ErrorCode::kUnauthorized, "missing API key");
  if (api_key.size() > 256) return core::Fail(core::ErrorCode::kInvalidApiKey, "invalid API key");
  auto found = store_.Users().FindByKeyHash(auth::HashSecretToken(api_key));
  if (!found) return tl::unexpected(found.error());
  if (!*found || (*found)->status == core::UserStatus::kPending) {
    return core::Fail(core::ErrorCode::kInvalidApiKey, "invalid API key");
  }
  if ((*found)->status == core::UserStatus::kRevoked) {
    return core::Fail(core::ErrorCode::kApiKeyRevoked, "API key revoked");
  }
  return **found;
}

core::Result<std::optional<std::string>> Users::SeedAdmin(
    const std::string& email, const std::optional<std::string>& chosen_key) {
  if (!IsValidEmail(email)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid --seed-admin e-mail", email);
  }
  auto existing = store_.Users().Get(email);
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) return std::optional<std::string>();
  if (chosen_key) {
    if (auto valid = auth::ValidateChosenKey(*chosen_key); !valid) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid RUNVOY_SEED_ADMIN_KEY",
                        valid.error().details);
    }
  }
  const std::string key = chosen_key ? *chosen_key : ids_.NewApiKey();
  core::User admin;
  admin.email = email;
  admin.role = core::Role::kAdmin;
  admin.status = core::UserStatus::kActive;
  admin.api_key_hash = auth::HashSecretToken(key);
  admin.created_at = clock_.Now();
  if (auto put = store_.Users().Put(admin); !put) return tl::unexpected(put.error());
  if (chosen_key) return std::optional<std::string>();
  return std::optional<std::string>(key);
}

core::Result<std::string> Users::ResetAdmin(const std::string& email) {
  if (!IsValidEmail(email)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid e-mail", email);
  }
  auto existing = store_.Users().Get(email);
  if (!existing) return tl::unexpected(existing.error());
  const std::string key = ids_.NewApiKey();
  core::User admin = existing->value_or(core::User{});
  admin.email = email;
  admin.role = core::Role::kAdmin;
  admin.status = core::UserStatus::kActive;
  admin.expires_at.reset();
  admin.api_key_hash = auth::HashSecretToken(key);
  if (!*existing) admin.created_at = clock_.Now();
  if (auto put = store_.Users().Put(admin); !put) return tl::unexpected(put.error());
  return key;
}

}  // namespace runvoy::service
