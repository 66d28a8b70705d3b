// The small single-table repositories: WebSocket tokens, the audit chain, idempotency keys.

#include <optional>
#include <string>

#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"

namespace runvoy::providers::sqlite {
namespace {

using core::ErrorCode;
using core::Fail;

class SqliteWebSocketTokenRepository final : public contract::WebSocketTokenRepository {
 public:
  explicit SqliteWebSocketTokenRepository(Database& db) : db_(db) {}

  Result<void> Put(const core::WebSocketToken& token) override {
    return db_.Write<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(
          stmt,
          c.Prepare("INSERT INTO websocket_tokens (token_hash, execution_id, email, expires_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (token_hash) DO UPDATE SET "
                    "execution_id = excluded.execution_id, email = excluded.email, "
                    "expires_at = excluded.expires_at"));
      RUNVOY_SQLITE_CHECK(stmt->Bind(1, token.token_hash)
                              .Bind(2, token.execution_id)
                              .Bind(3, token.email)
                              .Bind(4, Millis(token.expires_at))
                              .Run());
      return {};
    });
  }

  Result<std::optional<core::WebSocketToken>> Get(const std::string& token_hash) override {
    return db_.Read<
        std::optional<core::WebSocketToken>>([&](Connection& c)
                                                 -> Result<std::optional<core::WebSocketToken>> {
      RUNVOY_SQLITE_ASSIGN(
          stmt,
          c.Prepare("SELECT token_hash, execution_id, email, expires_at FROM websocket_tokens "
                    "WHERE token_hash = ?"));
      RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, token_hash).Step());
      if (!row) {
        return std::optional<core::WebSocketToken>();
      }
      return core::WebSocketToken{stmt->Text(0), stmt->Text(1), stmt->Text(2), Time(stmt->Int(3))};
    });
  }

 private:
  Database& db_;
};

constexpr const char* kAuditColumns =
    "node, seq, time, request_id, client_request_id, user, role, method, path, status, "
    "client_ip, resource, detail, prev_hash, hash";

// Reads kAuditColumns starting at column `first`.
core::AuditEntry AuditFromRow(const Statement& stmt, int first) {
  core::AuditEntry entry;
  entry.node = stmt.Text(first);
  entry.seq = stmt.Int(first + 1);
  entry.time = Time(stmt.Int(first + 2));
  entry.request_id = stmt.Text(first + 3);
  entry.client_request_id = stmt.Text(first + 4);
  entry.user = stmt.Text(first + 5);
  entry.role = stmt.Text(first + 6);
  entry.method = stmt.Text(first + 7);
  entry.path = stmt.Text(first + 8);
  entry.status = static_cast<int>(stmt.Int(first + 9));
  entry.client_ip = stmt.Text(first + 10);
  entry.resource = stmt.Text(first + 11);
  entry.detail = stmt.Text(first + 12);
  entry.prev_hash = stmt.Text(first + 13);
  entry.hash = stmt.Text(first + 14);
  return entry;
}

class SqliteAuditRepository final : public contract::AuditRepository {
 public:
  explicit SqliteAuditRepository(Database& db) : db_(db) {}

  Result<void> Append(const std::vector<core::AuditEntry>& entries) override {
    return db_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("INSERT INTO audit_log (") + kAuditColumns +
                                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                                           "ON CONFLICT (node, seq) DO NOTHING"));
      for (const core::AuditEntry& entry : entries) {
        RUNVOY_SQLITE_ASSIGN(inserted, stmt->Bind(1, entry.node)
                                           .Bind(2, entry.seq)
                                           .Bind(3, Millis(entry.time))
                                           .Bind(4, entry.request_id)
                                           .Bind(5, entry.client_request_id)
                                           .Bind(6, entry.user)
                                           .Bind(7, entry.role)
                                           .Bind(8, entry.method)
                                           .Bind(9, entry.path)
                                           .Bind(10, int64_t{entry.status})
                                           .Bind(11, entry.client_ip)
                                           .Bind(12, entry.resource)
                                           .Bind(13, entry.detail)
                                           .Bind(14, entry.prev_hash)
                                           .Bind(15, entry.hash)
                                           .Run());
        stmt->Reset();
        if (inserted == 0) {
          return Fail(ErrorCode::kConflict, "audit sequence already used");
        }
      }
      return {};
    });
  }

  Result<std::optional<core::AuditEntry>> Last(const std::string& node) override {
    return db_.Read<std::optional<core::AuditEntry>>(
        [&](Connection& c) -> Result<std::optional<core::AuditEntry>> {
          RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kAuditColumns +
                                               " FROM audit_log WHERE node = ? "
                                               "ORDER BY seq DESC LIMIT 1"));
          RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, node).Step());
          if (!row) {
            return std::optional<core::AuditEntry>();
          }
          return std::optional<core::AuditEntry>(AuditFromRow(*stmt, 0));
        });
  }

  Result<void> List(int64_t after, std::size_t limit,
                    const std::function<bool(int64_t, const core::AuditEntry&)>& visit) override {
    return db_.Read<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT position, ") + kAuditColumns +
                                           " FROM audit_log WHERE position > ? "
                                           "ORDER BY position LIMIT ?"));
      stmt->Bind(1, after).Bind(2, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
      for (;;) {
        RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
        if (!row) {
          return {};
        }
        if (!visit(stmt->Int(0), AuditFromRow(*stmt, 1))) {
          return {};
        }
      }
    });
  }

 private:
  Database& db_;
};

class SqliteIdempotencyRepository final : public contract::IdempotencyRepository {
 public:
  explicit SqliteIdempotencyRepository(Database& db) : db_(db) {}

  Result<void> Put(const core::IdempotencyRecord& record) override {
    return db_.Write<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(
          stmt, c.Prepare("INSERT INTO idempotency_keys (email, key, execution_id, created_at) "
                          "VALUES (?, ?, ?, ?) ON CONFLICT (email, key) DO NOTHING"));
      RUNVOY_SQLITE_ASSIGN(inserted, stmt->Bind(1, record.email)
                                         .Bind(2, record.key)
                                         .Bind(3, record.execution_id)
                                         .Bind(4, Millis(record.created_at))
                                         .Run());
      if (inserted == 0) {
        return Fail(ErrorCode::kConflict, "idempotency key already used");
      }
      return {};
    });
  }

  Result<std::optional<core::IdempotencyRecord>> Get(const std::string& email,
                                                     const std::string& key) override {
    return db_.Read<std::optional<core::IdempotencyRecord>>(
        [&](Connection& c) -> Result<std::optional<core::IdempotencyRecord>> {
          RUNVOY_SQLITE_ASSIGN(stmt,
                               c.Prepare("SELECT email, key, execution_id, created_at "
                                         "FROM idempotency_keys WHERE email = ? AND key = ?"));
          RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, email).Bind(2, key).Step());
          if (!row) {
            return std::optional<core::IdempotencyRecord>();
          }
          return core::IdempotencyRecord{stmt->Text(0), stmt->Text(1), stmt->Text(2),
                                         Time(stmt->Int(3))};
        });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<contract::WebSocketTokenRepository> MakeWebSocketTokenRepository(Database& db) {
  return std::make_unique<SqliteWebSocketTokenRepository>(db);
}

std::unique_ptr<contract::AuditRepository> MakeAuditRepository(Database& db) {
  return std::make_unique<SqliteAuditRepository>(db);
}

std::unique_ptr<contract::IdempotencyRepository> MakeIdempotencyRepository(Database& db) {
  return std::make_unique<SqliteIdempotencyRepository>(db);
}

}  // namespace runvoy::providers::sqlite
