#include <optional>
#include <string>
#include <vector>

#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"

namespace runvoy::providers::sqlite {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr const char* kSecretColumns =
    "name, key_name, description, created_by, created_at, updated_at, updated_by, "
    "created_by_request_id, modified_by_request_id";

core::Secret SecretFromRow(const Statement& stmt) {
  core::Secret secret;
  secret.name = stmt.Text(0);
  secret.key_name = stmt.Text(1);
  secret.description = stmt.Text(2);
  secret.created_by = stmt.Text(3);
  secret.created_at = Time(stmt.Int(4));
  secret.updated_at = Time(stmt.Int(5));
  secret.updated_by = stmt.Text(6);
  secret.created_by_request_id = stmt.Text(7);
  secret.modified_by_request_id = stmt.Text(8);
  return secret;
}

class SqliteSecretRepository final : public contract::SecretRepository {
 public:
  explicit SqliteSecretRepository(Database& db) : db_(db) {}

  Result<void> Create(const core::Secret& secret) override {
    return db_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(
          stmt, c.Prepare(std::string("INSERT INTO secrets (") + kSecretColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING"));
      RUNVOY_SQLITE_ASSIGN(inserted, stmt->Bind(1, secret.name)
                                         .Bind(2, secret.key_name)
                                         .Bind(3, secret.description)
                                         .Bind(4, secret.created_by)
                                         .Bind(5, Millis(secret.created_at))
                                         .Bind(6, Millis(secret.updated_at))
                                         .Bind(7, secret.updated_by)
                                         .Bind(8, secret.created_by_request_id)
                                         .Bind(9, secret.modified_by_request_id)
                                         .Run());
      if (inserted == 0) {
        return Fail(ErrorCode::kSecretAlreadyExists, "secret already exists");
      }
      return WriteOwners(c, kOwnedSecret, secret.name, secret.owned_by);
    });
  }

  Result<std::optional<core::Secret>> Get(const std::string& name) override {
    return db_.Read<std::optional<core::Secret>>(
        [&](Connection& c) -> Result<std::optional<core::Secret>> {
          std::optional<core::Secret> secret;
          {
            RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kSecretColumns +
                                                 " FROM secrets WHERE name = ?"));
            RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, name).Step());
            if (!row) {
              return secret;
            }
            secret = SecretFromRow(*stmt);
          }
          RUNVOY_SQLITE_ASSIGN(owners, ReadOwners(c, kOwnedSecret, name));
          secret->owned_by = std::move(owners);
          return secret;
        });
  }

  Result<std::vector<core::Secret>> List() override {
    return db_.Read<std::vector<core::Secret>>(
        [&](Connection& c) -> Result<std::vector<core::Secret>> {
          RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kSecretColumns +
                                               " FROM secrets ORDER BY name"));
          std::vector<core::Secret> secrets;
          for (;;) {
            RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
            if (!row) {
              break;
            }
            secrets.push_back(SecretFromRow(*stmt));
            RUNVOY_SQLITE_ASSIGN(owners, ReadOwners(c, kOwnedSecret, secrets.back().name));
            secrets.back().owned_by = std::move(owners);
          }
          return secrets;
        });
  }

  // Writes everything but the name and the creation fields.
  Result<void> Update(const core::Secret& secret) override {
    return db_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(
          stmt,
          c.Prepare(
              "UPDATE secrets SET key_name = ?, description = ?, updated_at = ?, updated_by = ?, "
              "modified_by_request_id = ? WHERE name = ?"));
      RUNVOY_SQLITE_ASSIGN(updated, stmt->Bind(1, secret.key_name)
                                        .Bind(2, secret.description)
                                        .Bind(3, Millis(secret.updated_at))
                                        .Bind(4, secret.updated_by)
                                        .Bind(5, secret.modified_by_request_id)
                                        .Bind(6, secret.name)
                                        .Run());
      if (updated == 0) {
        return Fail(ErrorCode::kSecretNotFound, "secret not found");
      }
      return WriteOwners(c, kOwnedSecret, secret.name, secret.owned_by);
    });
  }

  // kSecretNotFound when missing.
  Result<void> Remove(const std::string& name) override {
    return db_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("DELETE FROM secrets WHERE name = ?"));
      RUNVOY_SQLITE_ASSIGN(removed, stmt->Bind(1, name).Run());
      if (removed == 0) {
        return Fail(ErrorCode::kSecretNotFound, "secret not found");
      }
      return DeleteOwners(c, kOwnedSecret, name);
    });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<contract::SecretRepository> MakeSecretRepository(Database& db) {
  return std::make_unique<SqliteSecretRepository>(db);
}

}  // namespace runvoy::providers::sqlite
