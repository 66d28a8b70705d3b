// The small repositories: WebSocket tokens, the audit chain, idempotency keys, secrets' metadata,
// blobs and settings.

#include <optional>
#include <string>
#include <vector>

#include "providers/postgres/repositories.h"

namespace runvoy::providers::postgres {
namespace {

using core::ErrorCode;
using core::Fail;

// Serialises audit appends: positions are then committed in the order they are drawn, so a
// reader paging with `after` never skips an entry committed late.
constexpr int64_t kAuditLockKey = 0x72756e766f7902;

class PostgresWebSocketTokenRepository final : public contract::WebSocketTokenRepository {
 public:
  explicit PostgresWebSocketTokenRepository(Pool& pool) : pool_(pool) {}

  Result<void> Put(const core::WebSocketToken& token) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_CHECK(
          c.Query("INSERT INTO websocket_tokens (token_hash, execution_id, email, expires_at) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO UPDATE SET "
                  "execution_id = excluded.execution_id, email = excluded.email, "
                  "expires_at = excluded.expires_at",
                  Params()
                      .Add(token.token_hash)
                      .Add(token.execution_id)
                      .Add(token.email)
                      .Add(Millis(token.expires_at))));
      return {};
    });
  }

  Result<std::optional<core::WebSocketToken>> Get(const std::string& token_hash) override {
    return pool_.Run<std::optional<core::WebSocketToken>>(
        [&](Connection& c) -> Result<std::optional<core::WebSocketToken>> {
          RUNVOY_PG_ASSIGN(rows, c.Query("SELECT token_hash, execution_id, email, expires_at "
                                         "FROM websocket_tokens WHERE token_hash = $1",
                                         Params().Add(token_hash)));
          if (rows.Empty()) {
            return std::optional<core::WebSocketToken>();
          }
          return core::WebSocketToken{rows.Text(0, 0), rows.Text(0, 1), rows.Text(0, 2),
                                      Time(rows.Int(0, 3))};
        },
        /*is_read=*/true);
  }

 private:
  Pool& pool_;
};

constexpr const char* kAuditColumns =
    "node, seq, time, request_id, client_request_id, \"user\", role, method, path, status, "
    "client_ip, resource, detail, prev_hash, hash";

// Reads kAuditColumns starting at column `first`.
core::AuditEntry AuditFromRow(const Rows& rows, int r, int first) {
  core::AuditEntry entry;
  entry.node = rows.Text(r, first);
  entry.seq = rows.Int(r, first + 1);
  entry.time = Time(rows.Int(r, first + 2));
  entry.request_id = rows.Text(r, first + 3);
  entry.client_request_id = rows.Text(r, first + 4);
  entry.user = rows.Text(r, first + 5);
  entry.role = rows.Text(r, first + 6);
  entry.method = rows.Text(r, first + 7);
  entry.path = rows.Text(r, first + 8);
  entry.status = static_cast<int>(rows.Int(r, first + 9));
  entry.client_ip = rows.Text(r, first + 10);
  entry.resource = rows.Text(r, first + 11);
  entry.detail = rows.Text(r, first + 12);
  entry.prev_hash = rows.Text(r, first + 13);
  entry.hash = rows.Text(r, first + 14);
  return entry;
}

class PostgresAuditRepository final : public contract::AuditRepository {
 public:
  explicit PostgresAuditRepository(Pool& pool) : pool_(pool) {}

  Result<void> Append(const std::vector<core::AuditEntry>& entries) override {
    if (entries.empty()) {
      return {};
    }
    // One column array per field, unnested in order: one statement (one round trip, atomic)
    // whatever the batch size.
    std::vector<std::string> nodes, request_ids, client_request_ids, users, roles, methods, paths,
        client_ips, resources, details, prev_hashes, hashes;
    std::vector<int64_t> seqs, times, statuses;
    for (const core::AuditEntry& entry : entries) {
      nodes.push_back(entry.node);
      seqs.push_back(entry.seq);
      times.push_back(Millis(entry.time));
      request_ids.push_back(entry.request_id);
      client_request_ids.push_back(entry.client_request_id);
      users.push_back(entry.user);
      roles.push_back(entry.role);
      methods.push_back(entry.method);
      paths.push_back(entry.path);
      statuses.push_back(entry.status);
      client_ips.push_back(entry.client_ip);
      resources.push_back(entry.resource);
      details.push_back(entry.detail);
      prev_hashes.push_back(entry.prev_hash);
      hashes.push_back(entry.hash);
    }
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      // The lock is taken before the rows (and their positions) are made and held until the
      // statement's transaction commits, so positions become visible in order.
      auto inserted = c.Query(
          std::string("WITH serialised AS (SELECT pg_advisory_xact_lock($16)) "
                      "INSERT INTO audit_log (") +
              kAuditColumns +
              ") SELECT e.node, e.seq, e.time, e.request_id, e.client_request_id, e.usr, e.role, "
              "e.method, e.path, e.status::integer, e.client_ip, e.resource, e.detail, "
              "e.prev_hash, e.hash FROM serialised, unnest($1::text[], $2::bigint[], "
              "$3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
              "$9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[], "
              "$15::text[]) WITH ORDINALITY AS e(node, seq, time, request_id, client_request_id, "
              "usr, role, method, path, status, client_ip, resource, detail, prev_hash, hash, n) "
              "ORDER BY e.n",
          Params()
              .AddTextArray(nodes)
              .AddIntArray(seqs)
              .AddIntArray(times)
              .AddTextArray(request_ids)
              .AddTextArray(client_request_ids)
              .AddTextArray(users)
              .AddTextArray(roles)
              .AddTextArray(methods)
              .AddTextArray(paths)
              .AddIntArray(statuses)
              .AddTextArray(client_ips)
              .AddTextArray(resources)
              .AddTextArray(details)
              .AddTextArray(prev_hashes)
              .AddTextArray(hashes)
              .Add(kAuditLockKey));
      if (!inserted) {
        if (c.LastSqlState() == kUniqueViolation) {
          return Fail(ErrorCode::kConflict, "audit sequence already used");
        }
        return tl::unexpected(inserted.error());
      }
      return {};
    });
  }

  Result<std::optional<core::AuditEntry>> Last(const std::string& node) override {
    return pool_.Run<std::optional<core::AuditEntry>>(
        [&](Connection& c) -> Result<std::optional<core::AuditEntry>> {
          RUNVOY_PG_ASSIGN(rows, c.Query(std::string("SELECT ") + kAuditColumns +
                                             " FROM audit_log WHERE node = $1 "
                                             "ORDER BY seq DESC LIMIT 1",
                                         Params().Add(node)));
          if (rows.Empty()) {
            return std::optional<core::AuditEntry>();
          }
          return std::optional<core::AuditEntry>(AuditFromRow(rows, 0, 0));
        },
        true);
  }

  Result<void> List(int64_t after, std::size_t limit,
                    const std::function<bool(int64_t, const core::AuditEntry&)>& visit) override {
    std::size_t remaining = limit;  // 0 = all
    for (;;) {
      const int64_t chunk = limit == 0
                                ? kFetchChunk
                                : std::min<int64_t>(kFetchChunk, static_cast<int64_t>(remaining));
      auto rows = pool_.Run<Rows>(
          [&](Connection& c) {
            return c.Query(std::string("SELECT position, ") + kAuditColumns +
                               " FROM audit_log WHERE position > $1 ORDER BY position LIMIT $2",
                           Params().Add(after).Add(chunk));
          },
          true);
      if (!rows) {
        return tl::unexpected(rows.error());
      }
      for (int r = 0; r < rows->Count(); ++r) {
        after = rows->Int(r, 0);
        if (!visit(after, AuditFromRow(*rows, r, 1))) {
          return {};
        }
      }
      if (rows->Count() < chunk) {
        return {};
      }
      if (limit != 0) {
        remaining -= static_cast<std::size_t>(rows->Count());
        if (remaining == 0) {
          return {};
        }
      }
    }
  }

 private:
  Pool& pool_;
};

class PostgresIdempotencyRepository final : public contract::IdempotencyRepository {
 public:
  explicit PostgresIdempotencyRepository(Pool& pool) : pool_(pool) {}

  Result<void> Put(const core::IdempotencyRecord& record) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_ASSIGN(
          rows, c.Query("INSERT INTO idempotency_keys (email, key, execution_id, created_at) "
                        "VALUES ($1, $2, $3, $4) ON CONFLICT (email, key) DO NOTHING",
                        Params()
                            .Add(record.email)
                            .Add(record.key)
                            .Add(record.execution_id)
                            .Add(Millis(record.created_at))));
      if (rows.Affected() == 0) {
        return Fail(ErrorCode::kConflict, "idempotency key already used");
      }
      return {};
    });
  }

  Result<std::optional<core::IdempotencyRecord>> Get(const std::string& email,
                                                     const std::string& key) override {
    return pool_.Run<std::optional<core::IdempotencyRecord>>(
        [&](Connection& c) -> Result<std::optional<core::IdempotencyRecord>> {
          RUNVOY_PG_ASSIGN(rows, c.Query("SELECT email, key, execution_id, created_at "
                                         "FROM idempotency_keys WHERE email = $1 AND key = $2",
                                         Params().Add(email).Add(key)));
          if (rows.Empty()) {
            return std::optional<core::IdempotencyRecord>();
          }
          return core::IdempotencyRecord{rows.Text(0, 0), rows.Text(0, 1), rows.Text(0, 2),
                                         Time(rows.Int(0, 3))};
        },
        true);
  }

 private:
  Pool& pool_;
};

constexpr const char* kSecretColumns =
    "name, key_name, description, created_by, created_at, updated_at, updated_by, "
    "created_by_request_id, modified_by_request_id, owned_by";

core::Secret SecretFromRow(const Rows& rows, int r) {
  core::Secret secret;
  secret.name = rows.Text(r, 0);
  secret.key_name = rows.Text(r, 1);
  secret.description = rows.Text(r, 2);
  secret.created_by = rows.Text(r, 3);
  secret.created_at = Time(rows.Int(r, 4));
  secret.updated_at = Time(rows.Int(r, 5));
  secret.updated_by = rows.Text(r, 6);
  secret.created_by_request_id = rows.Text(r, 7);
  secret.modified_by_request_id = rows.Text(r, 8);
  secret.owned_by = rows.TextArray(r, 9);
  return secret;
}

class PostgresSecretRepository final : public contract::SecretRepository {
 public:
  explicit PostgresSecretRepository(Pool& pool) : pool_(pool) {}

  Result<void> Create(const core::Secret& secret) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_ASSIGN(rows, c.Query(std::string("INSERT INTO secrets (") + kSecretColumns +
                                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                                         "$10::text[]) ON CONFLICT (name) DO NOTHING",
                                     Params()
                                         .Add(secret.name)
                                         .Add(secret.key_name)
                                         .Add(secret.description)
                                         .Add(secret.created_by)
                                         .Add(Millis(secret.created_at))
                                         .Add(Millis(secret.updated_at))
                                         .Add(secret.updated_by)
                                         .Add(secret.created_by_request_id)
                                         .Add(secret.modified_by_request_id)
                                         .AddTextArray(secret.owned_by)));
      if (rows.Affected() == 0) {
        return Fail(ErrorCode::kSecretAlreadyExists, "secret already exists");
      }
      return {};
    });
  }

  Result<std::optional<core::Secret>> Get(const std::string& name) override {
    return pool_.Run<std::optional<core::Secret>>(
        [&](Connection& c) -> Result<std::optional<core::Secret>> {
          RUNVOY_PG_ASSIGN(rows, c.Query(std::string("SELECT ") + kSecretColumns +
                                             " FROM secrets WHERE name = $1",
                                         Params().Add(name)));
          if (rows.Empty()) {
            return std::optional<core::Secret>();
          }
          return std::optional<core::Secret>(SecretFromRow(rows, 0));
        },
        true);
  }

  Result<std::vector<core::Secret>> List() override {
    return pool_.Run<std::vector<core::Secret>>(
        [&](Connection& c) -> Result<std::vector<core::Secret>> {
          RUNVOY_PG_ASSIGN(rows, c.Query(std::string("SELECT ") + kSecretColumns +
                                         " FROM secrets ORDER BY name"));
          std::vector<core::Secret> secrets;
          secrets.reserve(static_cast<std::size_t>(rows.Count()));
          for (int r = 0; r < rows.Count(); ++r) {
            secrets.push_back(SecretFromRow(rows, r));
          }
          return secrets;
        },
        true);
  }

  // Writes everything but the name and the creation fields.
  Result<void> Update(const core::Secret& secret) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_ASSIGN(
          rows, c.Query("UPDATE secrets SET key_name = $1, description = $2, updated_at = $3, "
                        "updated_by = $4, modified_by_request_id = $5, owned_by = $6::text[] "
                        "WHERE name = $7",
                        Params()
                            .Add(secret.key_name)
                            .Add(secret.description)
                            .Add(Millis(secret.updated_at))
                            .Add(secret.updated_by)
                            .Add(secret.modified_by_request_id)
                            .AddTextArray(secret.owned_by)
                            .Add(secret.name)));
      if (rows.Affected() == 0) {
        return Fail(ErrorCode::kSecretNotFound, "secret not found");
      }
      return {};
    });
  }

  Result<void> Remove(const std::string& name) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_ASSIGN(rows, c.Query("DELETE FROM secrets WHERE name = $1", Params().Add(name)));
      if (rows.Affected() == 0) {
        return Fail(ErrorCode::kSecretNotFound, "secret not found");
      }
      return {};
    });
  }

 private:
  Pool& pool_;
};

class PostgresBlobRepository final : public contract::BlobRepository {
 public:
  explicit PostgresBlobRepository(Pool& pool) : pool_(pool) {}

  Result<void> Put(const std::string& name, const std::string& value) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_CHECK(
          c.Query("INSERT INTO blobs (name, value) VALUES ($1, $2) "
                  "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                  Params().Add(name).AddBytes(value)));
      return {};
    });
  }

  Result<std::optional<std::string>> Get(const std::string& name) override {
    return pool_.Run<std::optional<std::string>>(
        [&](Connection& c) -> Result<std::optional<std::string>> {
          RUNVOY_PG_ASSIGN(rows,
                           c.Query("SELECT value FROM blobs WHERE name = $1", Params().Add(name)));
          if (rows.Empty()) {
            return std::optional<std::string>();
          }
          return std::optional<std::string>(rows.Bytes(0, 0));
        },
        true);
  }

  // Removing a missing blob succeeds.
  Result<void> Remove(const std::string& name) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_CHECK(c.Query("DELETE FROM blobs WHERE name = $1", Params().Add(name)));
      return {};
    });
  }

  Result<std::vector<std::string>> Names() override {
    return pool_.Run<std::vector<std::string>>(
        [&](Connection& c) -> Result<std::vector<std::string>> {
          RUNVOY_PG_ASSIGN(rows, c.Query("SELECT name FROM blobs ORDER BY name"));
          std::vector<std::string> names;
          names.reserve(static_cast<std::size_t>(rows.Count()));
          for (int r = 0; r < rows.Count(); ++r) {
            names.push_back(rows.Text(r, 0));
          }
          return names;
        },
        true);
  }

 private:
  Pool& pool_;
};

class PostgresSettingRepository final : public contract::SettingRepository {
 public:
  explicit PostgresSettingRepository(Pool& pool) : pool_(pool) {}

  Result<std::optional<std::string>> Get(const std::string& key) override {
    return pool_.Run<std::optional<std::string>>(
        [&](Connection& c) -> Result<std::optional<std::string>> {
          RUNVOY_PG_ASSIGN(rows,
                           c.Query("SELECT value FROM settings WHERE key = $1", Params().Add(key)));
          if (rows.Empty()) {
            return std::optional<std::string>();
          }
          return std::optional<std::string>(rows.Text(0, 0));
        },
        true);
  }

  Result<void> Put(const std::string& key, const std::string& value) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      RUNVOY_PG_CHECK(
          c.Query("INSERT INTO settings (key, value) VALUES ($1, $2) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  Params().Add(key).Add(value)));
      return {};
    });
  }

 private:
  Pool& pool_;
};

}  // namespace

std::unique_ptr<contract::WebSocketTokenRepository> MakeWebSocketTokenRepository(Pool& pool) {
  return std::make_unique<PostgresWebSocketTokenRepository>(pool);
}
std::unique_ptr<contract::AuditRepository> MakeAuditRepository(Pool& pool) {
  return std::make_unique<PostgresAuditRepository>(pool);
}
std::unique_ptr<contract::IdempotencyRepository> MakeIdempotencyRepository(Pool& pool) {
  return std::make_unique<PostgresIdempotencyRepository>(pool);
}
std::unique_ptr<contract::SecretRepository> MakeSecretRepository(Pool& pool) {
  return std::make_unique<PostgresSecretRepository>(pool);
}
std::unique_ptr<contract::BlobRepository> MakeBlobRepository(Pool& pool) {
  return std::make_unique<PostgresBlobRepository>(pool);
}
std::unique_ptr<contract::SettingRepository> MakeSettingRepository(Pool& pool) {
  return std::make_unique<PostgresSettingRepository>(pool);
}

}  // namespace runvoy::providers::postgres
