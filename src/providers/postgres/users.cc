#include <optional>
#include <string>
#include <vector>

#include "core/role.h"
#include "providers/postgres/repositories.h"

namespace runvoy::providers::postgres {

namespace {

using core::ErrorCode;
using core::Fail;

constexpr const char* kUserColumns =
    "email, role, status, api_key_hash, created_at, expires_at, last_used, "
    "created_by_request_id, modified_by_request_id";
constexpr const char* kTokenColumns =
    "token_hash, email, created_at, expires_at, claimed, sealed_api_key";

core::User UserFromRow(const Rows& rows, int r) {
  core::User user;
  user.email = rows.Text(r, 0);
  user.role = core::ParseRole(rows.Text(r, 1)).value_or(core::Role::kViewer);
  user.status = core::UserStatusFromName(rows.Text(r, 2));
  user.api_key_hash = rows.Text(r, 3);
  user.created_at = Time(rows.Int(r, 4));
  user.expires_at = Time(rows.OptionalInt(r, 5));
  user.last_used = Time(rows.OptionalInt(r, 6));
  user.created_by_request_id = rows.Text(r, 7);
  user.modified_by_request_id = rows.Text(r, 8);
  return user;
}

core::ClaimToken TokenFromRow(const Rows& rows, int r) {
  core::ClaimToken token;
  token.token_hash = rows.Text(r, 0);
  token.email = rows.Text(r, 1);
  token.created_at = Time(rows.Int(r, 2));
  token.expires_at = Time(rows.Int(r, 3));
  token.claimed = rows.Bool(r, 4);
  token.sealed_api_key = rows.Text(r, 5);
  return token;
}

// `where` is one of the constant column names "email" / "api_key_hash".
Result<std::optional<core::User>> SelectUser(Connection& c, const char* where,
                                             const std::string& value) {
  RUNVOY_PG_ASSIGN(
      rows, c.Query(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where + " = $1",
                    Params().Add(value)));
  if (rows.Empty()) {
    return std::optional<core::User>();
  }
  return std::optional<core::User>(UserFromRow(rows, 0));
}

Result<std::optional<core::ClaimToken>> SelectToken(Connection& c, const std::string& hash) {
  RUNVOY_PG_ASSIGN(rows, c.Query(std::string("SELECT ") + kTokenColumns +
                                     " FROM claim_tokens WHERE token_hash = $1",
                                 Params().Add(hash)));
  if (rows.Empty()) {
    return std::optional<core::ClaimToken>();
  }
  return std::optional<core::ClaimToken>(TokenFromRow(rows, 0));
}

// True when a user other than `email` has `key_hash`.
Result<bool> KeyHashTaken(Connection& c, const std::string& key_hash, const std::string& email) {
  if (key_hash.empty()) {
    return false;
  }
  RUNVOY_PG_ASSIGN(rows, c.Query("SELECT 1 FROM users WHERE api_key_hash = $1 AND email <> $2",
                                 Params().Add(key_hash).Add(email)));
  return !rows.Empty();
}

Result<void> UpsertUser(Connection& c, const core::User& user) {
  RUNVOY_PG_CHECK(c.Query(
      std::string("INSERT INTO users (") + kUserColumns +
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (email) DO UPDATE SET "
          "role = excluded.role, status = excluded.status, api_key_hash = excluded.api_key_hash, "
          "created_at = excluded.created_at, expires_at = excluded.expires_at, "
          "last_used = excluded.last_used, created_by_request_id = excluded.created_by_request_id, "
          "modified_by_request_id = excluded.modified_by_request_id",
      Params()
          .Add(user.email)
          .Add(std::string(core::RoleName(user.role)))
          .Add(std::string(core::UserStatusName(user.status)))
          .AddTextOrNull(user.api_key_hash)
          .Add(Millis(user.created_at))
          .Add(Millis(user.expires_at))
          .Add(Millis(user.last_used))
          .Add(user.created_by_request_id)
          .Add(user.modified_by_request_id)));
  return {};
}

Result<void> CreatePendingUser(Connection& c, const core::User& user, const core::ClaimToken& token,
                               core::TimePoint now) {
  RUNVOY_PG_CHECK(c.Query(
      "DELETE FROM users WHERE email = $1 AND status = 'pending' AND expires_at IS NOT NULL "
      "AND expires_at < $2",
      Params().Add(user.email).Add(Millis(now))));
  RUNVOY_PG_ASSIGN(existing, SelectUser(c, "email", user.email));
  if (existing) {
    return Fail(ErrorCode::kConflict, "user already exists");
  }
  RUNVOY_PG_ASSIGN(taken, KeyHashTaken(c, user.api_key_hash, user.email));
  if (taken) {
    return Fail(ErrorCode::kConflict, "API key already in use");
  }
  RUNVOY_PG_CHECK(UpsertUser(c, user));
  RUNVOY_PG_ASSIGN(inserted,
                   c.Query(std::string("INSERT INTO claim_tokens (") + kTokenColumns +
                               ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_hash) "
                               "DO NOTHING",
                           Params()
                               .Add(token.token_hash)
                               .Add(token.email)
                               .Add(Millis(token.created_at))
                               .Add(Millis(token.expires_at))
                               .Add(token.claimed)
                               .Add(token.sealed_api_key)));
  // The transaction rolls back the user too.
  if (inserted.Affected() == 0) {
    return Fail(ErrorCode::kConflict, "claim token already exists");
  }
  return {};
}

Result<contract::UserRepository::Claimed> ClaimInvitation(Connection& c,
                                                          const std::string& token_hash,
                                                          const std::string& api_key_hash,
                                                          core::TimePoint now,
                                                          const std::string& request_id) {
  RUNVOY_PG_ASSIGN(token, SelectToken(c, token_hash));
  if (!token || token->expires_at < now) {
    return Fail(ErrorCode::kNotFound, "claim token not found or expired");
  }
  if (token->claimed) {
    return Fail(ErrorCode::kConflict, "claim token already claimed");
  }
  RUNVOY_PG_ASSIGN(taken, KeyHashTaken(c, api_key_hash, token->email));
  if (taken) {
    return Fail(ErrorCode::kConflict, "API key already in use");
  }
  RUNVOY_PG_ASSIGN(user, SelectUser(c, "email", token->email));
  if (!user) {
    return Fail(ErrorCode::kNotFound, "claim token not found or expired");
  }
  RUNVOY_PG_CHECK(
      c.Query("UPDATE users SET status = 'active', api_key_hash = $1, expires_at = NULL, "
              "modified_by_request_id = $2 WHERE email = $3",
              Params().Add(api_key_hash).Add(request_id).Add(token->email)));
  RUNVOY_PG_CHECK(c.Query("UPDATE claim_tokens SET claimed = TRUE WHERE token_hash = $1",
                          Params().Add(token_hash)));
  user->status = core::UserStatus::kActive;
  user->api_key_hash = api_key_hash;
  user->expires_at.reset();
  user->modified_by_request_id = request_id;
  return contract::UserRepository::Claimed{*token, *user};
}

Result<core::User> RevokeUser(Connection& c, const std::string& email,
                              const std::string& request_id) {
  RUNVOY_PG_ASSIGN(user, SelectUser(c, "email", email));
  if (!user) {
    return Fail(ErrorCode::kNotFound, "user not found");
  }
  if (user->revoked()) {
    return *user;
  }
  if (user->role == core::Role::kAdmin && user->status == core::UserStatus::kActive) {
    RUNVOY_PG_ASSIGN(others, c.Query("SELECT COUNT(*) FROM users WHERE role = 'admin' AND "
                                     "status = 'active' AND email <> $1",
                                     Params().Add(email)));
    if (others.Empty() || others.Int(0, 0) == 0) {
      return Fail(ErrorCode::kConflict, "cannot revoke the last active admin");
    }
  }
  RUNVOY_PG_CHECK(
      c.Query("UPDATE users SET status = 'revoked', modified_by_request_id = $1 WHERE email = $2",
              Params().Add(request_id).Add(email)));
  user->status = core::UserStatus::kRevoked;
  user->modified_by_request_id = request_id;
  return *user;
}

// Check-then-write methods run in SERIALIZABLE transactions (Pool::Transact), so two servers
// racing on one e-mail, token or last admin behave as SQLite's single writer does: one wins,
// the other retries and sees the winner's write.
class PostgresUserRepository final : public contract::UserRepository {
 public:
  explicit PostgresUserRepository(Pool& pool) : pool_(pool) {}

  Result<void> CreatePending(const core::User& user, const core::ClaimToken& token,
                             core::TimePoint now) override {
    return pool_.Transact<void>(
        [&](Connection& c) { return CreatePendingUser(c, user, token, now); });
  }

  Result<void> Put(const core::User& user) override {
    return pool_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_ASSIGN(taken, KeyHashTaken(c, user.api_key_hash, user.email));
      if (taken) {
        return Fail(ErrorCode::kConflict, "API key already in use");
      }
      return UpsertUser(c, user);
    });
  }

  Result<std::optional<core::User>> Get(const std::string& email) override {
    return pool_.Run<std::optional<core::User>>(
        [&](Connection& c) { return SelectUser(c, "email", email); }, /*is_read=*/true);
  }

  Result<std::optional<core::User>> FindByKeyHash(const std::string& key_hash) override {
    if (key_hash.empty()) {
      return std::optional<core::User>();
    }
    return pool_.Run<std::optional<core::User>>(
        [&](Connection& c) { return SelectUser(c, "api_key_hash", key_hash); }, true);
  }

  Result<std::vector<core::User>> List(core::TimePoint now) override {
    return pool_.Run<std::vector<core::User>>(
        [&](Connection& c) -> Result<std::vector<core::User>> {
          RUNVOY_PG_ASSIGN(
              rows, c.Query(std::string("SELECT ") + kUserColumns +
                                " FROM users WHERE NOT (status = 'pending' AND expires_at IS "
                                "NOT NULL AND expires_at < $1) ORDER BY email",
                            Params().Add(Millis(now))));
          std::vector<core::User> users;
          users.reserve(static_cast<std::size_t>(rows.Count()));
          for (int r = 0; r < rows.Count(); ++r) {
            users.push_back(UserFromRow(rows, r));
          }
          return users;
        },
        true);
  }

  Result<Claimed> Claim(const std::string& token_hash, const std::string& api_key_hash,
                        core::TimePoint now, const std::string& request_id) override {
    return pool_.Transact<Claimed>([&](Connection& c) {
      return ClaimInvitation(c, token_hash, api_key_hash, now, request_id);
    });
  }

  Result<std::optional<core::ClaimToken>> GetClaimToken(const std::string& token_hash) override {
    return pool_.Run<std::optional<core::ClaimToken>>(
        [&](Connection& c) { return SelectToken(c, token_hash); }, true);
  }

  Result<core::User> Revoke(const std::string& email, const std::string& request_id) override {
    return pool_.Transact<core::User>(
        [&](Connection& c) { return RevokeUser(c, email, request_id); });
  }

  Result<void> TouchLastUsed(const std::string& email, core::TimePoint when) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      // GREATEST keeps the newest time when touches race.
      RUNVOY_PG_CHECK(c.Query(
          "UPDATE users SET last_used = GREATEST(COALESCE(last_used, 0), $1) WHERE email = $2",
          Params().Add(Millis(when)).Add(email)));
      return {};
    });
  }

 private:
  Pool& pool_;
};

}  // namespace

std::unique_ptr<contract::UserRepository> MakeUserRepository(Pool& pool) {
  return std::make_unique<PostgresUserRepository>(pool);
}

}  // namespace runvoy::providers::postgres
