#include <optional>
#include <string>
#include <vector>

#include "core/role.h"
#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"

namespace runvoy::providers::sqlite {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr const char* kUserColumns =
    "email, role, status, api_key_hash, created_at, expires_at, last_used, "
    "created_by_request_id, modified_by_request_id";
constexpr const char* kTokenColumns =
    "token_hash, email, created_at, expires_at, claimed, sealed_api_key";

core::User UserFromRow(const Statement& stmt) {
  core::User user;
  user.email = stmt.Text(0);
  user.role = core::ParseRole(stmt.Text(1)).value_or(core::Role::kViewer);
  user.status = core::UserStatusFromName(stmt.Text(2));
  user.api_key_hash = stmt.Text(3);
  user.created_at = Time(stmt.Int(4));
  user.expires_at = Time(stmt.OptionalInt(5));
  user.last_used = Time(stmt.OptionalInt(6));
  user.created_by_request_id = stmt.Text(7);
  user.modified_by_request_id = stmt.Text(8);
  return user;
}

core::ClaimToken TokenFromRow(const Statement& stmt) {
  core::ClaimToken token;
  token.token_hash = stmt.Text(0);
  token.email = stmt.Text(1);
  token.created_at = Time(stmt.Int(2));
  token.expires_at = Time(stmt.Int(3));
  token.claimed = stmt.Int(4) != 0;
  token.sealed_api_key = stmt.Text(5);
  return token;
}

Result<std::optional<core::User>> SelectUser(Connection& c, const std::string& where,
                                             const std::string& value) {
  RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kUserColumns +
                                       " FROM users WHERE " + where + " = ?"));
  RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, value).Step());
  if (!row) {
    return std::optional<core::User>();
  }
  return std::optional<core::User>(UserFromRow(*stmt));
}

Result<std::optional<core::ClaimToken>> SelectToken(Connection& c, const std::string& hash) {
  RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kTokenColumns +
                                       " FROM claim_tokens WHERE token_hash = ?"));
  RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, hash).Step());
  if (!row) {
    return std::optional<core::ClaimToken>();
  }
  return std::optional<core::ClaimToken>(TokenFromRow(*stmt));
}

// True when a user other than `email` has `key_hash`.
Result<bool> KeyHashTaken(Connection& c, const std::string& key_hash, const std::string& email) {
  if (key_hash.empty()) {
    return false;
  }
  RUNVOY_SQLITE_ASSIGN(stmt,
                       c.Prepare("SELECT 1 FROM users WHERE api_key_hash = ? AND email <> ?"));
  return stmt->Bind(1, key_hash).Bind(2, email).Step();
}

Result<void> UpsertUser(Connection& c, const core::User& user) {
  RUNVOY_SQLITE_ASSIGN(
      stmt,
      c.Prepare(
          std::string("INSERT INTO users (") + kUserColumns +
          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO UPDATE SET "
          "role = excluded.role, status = excluded.status, api_key_hash = excluded.api_key_hash, "
          "created_at = excluded.created_at, expires_at = excluded.expires_at, "
          "last_used = excluded.last_used, created_by_request_id = excluded.created_by_request_id, "
          "modified_by_request_id = excluded.modified_by_request_id"));
  RUNVOY_SQLITE_CHECK(stmt->Bind(1, user.email)
                          .Bind(2, std::string(core::RoleName(user.role)))
                          .Bind(3, std::string(core::UserStatusName(user.status)))
                          .BindTextOrNull(4, user.api_key_hash)
                          .Bind(5, Millis(user.created_at))
                          .Bind(6, Millis(user.expires_at))
                          .Bind(7, Millis(user.last_used))
                          .Bind(8, user.created_by_request_id)
                          .Bind(9, user.modified_by_request_id)
                          .Run());
  return {};
}

Result<void> CreatePendingUser(Connection& c, const core::User& user, const core::ClaimToken& token,
                               core::TimePoint now) {
  RUNVOY_SQLITE_ASSIGN(expired,
                       c.Prepare("DELETE FROM users WHERE email = ? AND status = 'pending' "
                                 "AND expires_at IS NOT NULL AND expires_at < ?"));
  RUNVOY_SQLITE_CHECK(expired->Bind(1, user.email).Bind(2, Millis(now)).Run());
  RUNVOY_SQLITE_ASSIGN(existing, SelectUser(c, "email", user.email));
  if (existing) {
    return Fail(ErrorCode::kConflict, "user already exists");
  }
  RUNVOY_SQLITE_ASSIGN(taken, KeyHashTaken(c, user.api_key_hash, user.email));
  if (taken) {
    return Fail(ErrorCode::kConflict, "API key already in use");
  }
  RUNVOY_SQLITE_CHECK(UpsertUser(c, user));
  RUNVOY_SQLITE_ASSIGN(
      insert, c.Prepare(std::string("INSERT INTO claim_tokens (") + kTokenColumns +
                        ") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING"));
  RUNVOY_SQLITE_ASSIGN(inserted, insert->Bind(1, token.token_hash)
                                     .Bind(2, token.email)
                                     .Bind(3, Millis(token.created_at))
                                     .Bind(4, Millis(token.expires_at))
                                     .Bind(5, int64_t{token.claimed ? 1 : 0})
                                     .Bind(6, token.sealed_api_key)
                                     .Run());
  if (inserted == 0) {
    return Fail(ErrorCode::kConflict, "claim token already exists");
  }
  return {};
}

Result<contract::UserRepository::Claimed> ClaimInvitation(Connection& c,
                                                          const std::string& token_hash,
                                                          const std::string& api_key_hash,
                                                          core::TimePoint now,
                                                          const std::string& request_id) {
  RUNVOY_SQLITE_ASSIGN(token, SelectToken(c, token_hash));
  if (!token || token->expires_at < now) {
    return Fail(ErrorCode::kNotFound, "claim token not found or expired");
  }
  if (token->claimed) {
    return Fail(ErrorCode::kConflict, "claim token already claimed");
  }
  RUNVOY_SQLITE_ASSIGN(taken, KeyHashTaken(c, api_key_hash, token->email));
  if (taken) {
    return Fail(ErrorCode::kConflict, "API key already in use");
  }
  RUNVOY_SQLITE_ASSIGN(user, SelectUser(c, "email", token->email));
  if (!user) {
    return Fail(ErrorCode::kNotFound, "claim token not found or expired");
  }
  RUNVOY_SQLITE_ASSIGN(
      activate,
      c.Prepare("UPDATE users SET status = 'active', api_key_hash = ?, expires_at = NULL, "
                "modified_by_request_id = ? WHERE email = ?"));
  RUNVOY_SQLITE_CHECK(
      activate->Bind(1, api_key_hash).Bind(2, request_id).Bind(3, token->email).Run());
  RUNVOY_SQLITE_ASSIGN(mark, c.Prepare("UPDATE claim_tokens SET claimed = 1 WHERE token_hash = ?"));
  RUNVOY_SQLITE_CHECK(mark->Bind(1, token_hash).Run());
  user->status = core::UserStatus::kActive;
  user->api_key_hash = api_key_hash;
  user->expires_at.reset();
  user->modified_by_request_id = request_id;
  return contract::UserRepository::Claimed{*token, *user};
}

Result<core::User> RevokeUser(Connection& c, const std::string& email,
                              const std::string& request_id) {
  RUNVOY_SQLITE_ASSIGN(user, SelectUser(c, "email", email));
  if (!user) {
    return Fail(ErrorCode::kNotFound, "user not found");
  }
  if (user->revoked()) {
    return *user;
  }
  if (user->role == core::Role::kAdmin && user->status == core::UserStatus::kActive) {
    RUNVOY_SQLITE_ASSIGN(
        others, c.Prepare("SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active' "
                          "AND email <> ?"));
    RUNVOY_SQLITE_ASSIGN(row, others->Bind(1, email).Step());
    if (!row || others->Int(0) == 0) {
      return Fail(ErrorCode::kConflict, "cannot revoke the last active admin");
    }
  }
  RUNVOY_SQLITE_ASSIGN(
      revoke,
      c.Prepare("UPDATE users SET status = 'revoked', modified_by_request_id = ? WHERE email = ?"));
  RUNVOY_SQLITE_CHECK(revoke->Bind(1, request_id).Bind(2, email).Run());
  user->status = core::UserStatus::kRevoked;
  user->modified_by_request_id = request_id;
  return *user;
}

class SqliteUserRepository final : public contract::UserRepository {
 public:
  explicit SqliteUserRepository(Database& db) : db_(db) {}

  Result<void> CreatePending(const core::User& user, const core::ClaimToken& token,
                             core::TimePoint now) override {
    return db_.Transact<void>(
        [&](Connection& c) { return CreatePendingUser(c, user, token, now); });
  }

  Result<void> Put(const core::User& user) override {
    return db_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(taken, KeyHashTaken(c, user.api_key_hash, user.email));
      if (taken) {
        return Fail(ErrorCode::kConflict, "API key already in use");
      }
      return UpsertUser(c, user);
    });
  }

  Result<std::optional<core::User>> Get(const std::string& email) override {
    return db_.Read<std::optional<core::User>>(
        [&](Connection& c) { return SelectUser(c, "email", email); });
  }

  Result<std::optional<core::User>> FindByKeyHash(const std::string& key_hash) override {
    if (key_hash.empty()) {
      return std::optional<core::User>();
    }
    return db_.Read<std::optional<core::User>>(
        [&](Connection& c) { return SelectUser(c, "api_key_hash", key_hash); });
  }

  Result<std::vector<core::User>> List(core::TimePoint now) override {
    return db_.Read<std::vector<core::User>>([&](Connection& c) -> Result<std::vector<core::User>> {
      RUNVOY_SQLITE_ASSIGN(
          stmt, c.Prepare(std::string("SELECT ") + kUserColumns +
                          " FROM users WHERE NOT (status = 'pending' AND expires_at IS NOT NULL "
                          "AND expires_at < ?) ORDER BY email"));
      stmt->Bind(1, Millis(now));
      std::vector<core::User> users;
      for (;;) {
        RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
        if (!row) {
          break;
        }
        users.push_back(UserFromRow(*stmt));
      }
      return users;
    });
  }

  Result<Claimed> Claim(const std::string& token_hash, const std::string& api_key_hash,
                        core::TimePoint now, const std::string& request_id) override {
    return db_.Transact<Claimed>([&](Connection& c) {
      return ClaimInvitation(c, token_hash, api_key_hash, now, request_id);
    });
  }

  Result<std::optional<core::ClaimToken>> GetClaimToken(const std::string& token_hash) override {
    return db_.Read<std::optional<core::ClaimToken>>(
        [&](Connection& c) { return SelectToken(c, token_hash); });
  }

  Result<core::User> Revoke(const std::string& email, const std::string& request_id) override {
    return db_.Transact<core::User>(
        [&](Connection& c) { return RevokeUser(c, email, request_id); });
  }

  Result<void> TouchLastUsed(const std::string& email, core::TimePoint when) override {
    return db_.Write<void>([&](Connection& c) -> Result<void> {
      // MAX keeps the newest time when touches race.
      RUNVOY_SQLITE_ASSIGN(
          stmt,
          c.Prepare("UPDATE users SET last_used = MAX(COALESCE(last_used, 0), ?) WHERE email = ?"));
      RUNVOY_SQLITE_CHECK(stmt->Bind(1, Millis(when)).Bind(2, email).Run());
      return {};
    });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<contract::UserRepository> MakeUserRepository(Database& db) {
  return std::make_unique<SqliteUserRepository>(db);
}

}  // namespace runvoy::providers::sqlite
