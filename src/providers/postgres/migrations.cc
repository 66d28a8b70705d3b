#include "providers/postgres/migrations.h"

#include <chrono>
#include <set>

#include "core/time.h"
#include "providers/postgres/pg_db.h"

namespace runvoy::providers::postgres {
namespace {

// The SQLite schema's twin. Text columns use the "C" collation: listings order bytes as SQLite
// does whatever the database's locale, and keys compare with memcmp rather than strcoll. Times are
// Unix milliseconds (BIGINT). Owner lists are text[] in their stored order, creator first. A user
// without a key has a NULL api_key_hash, so the unique index allows many of them.
// audit_log.position is the store's global audit order. Log messages are bytea so that every byte
// of a process's output is kept, as SQLite keeps it.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE users (
  email TEXT COLLATE "C" PRIMARY KEY,
  role TEXT COLLATE "C" NOT NULL,
  status TEXT COLLATE "C" NOT NULL,
  api_key_hash TEXT COLLATE "C" UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  last_used BIGINT,
  created_by_request_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  modified_by_request_id TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX users_role_status ON users (role, status);

CREATE TABLE claim_tokens (
  token_hash TEXT COLLATE "C" PRIMARY KEY,
  email TEXT COLLATE "C" NOT NULL REFERENCES users (email) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  claimed BOOLEAN NOT NULL DEFAULT FALSE,
  sealed_api_key TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX claim_tokens_email ON claim_tokens (email);

CREATE TABLE images (
  image_id TEXT COLLATE "C" PRIMARY KEY,
  image TEXT COLLATE "C" NOT NULL,
  is_default BOOLEAN NOT NULL DEFAULT FALSE,
  cpu INTEGER NOT NULL,
  memory INTEGER NOT NULL,
  runtime_platform TEXT COLLATE "C" NOT NULL,
  image_registry TEXT COLLATE "C" NOT NULL,
  image_name TEXT COLLATE "C" NOT NULL,
  image_tag TEXT COLLATE "C" NOT NULL,
  image_digest TEXT COLLATE "C" NOT NULL,
  normalized TEXT COLLATE "C" NOT NULL,
  task_role_name TEXT COLLATE "C" NOT NULL,
  task_execution_role_name TEXT COLLATE "C" NOT NULL,
  created_by TEXT COLLATE "C" NOT NULL,
  owned_by TEXT[] NOT NULL,
  created_at BIGINT NOT NULL,
  created_by_request_id TEXT COLLATE "C" NOT NULL,
  modified_by_request_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX images_image ON images (image, image_id);
CREATE UNIQUE INDEX images_single_default ON images (is_default) WHERE is_default;

CREATE TABLE executions (
  execution_id TEXT COLLATE "C" PRIMARY KEY,
  created_by TEXT COLLATE "C" NOT NULL,
  owned_by TEXT[] NOT NULL,
  command TEXT COLLATE "C" NOT NULL,
  image_id TEXT COLLATE "C" NOT NULL,
  started_at BIGINT NOT NULL,
  completed_at BIGINT,
  status TEXT COLLATE "C" NOT NULL,
  exit_code INTEGER,
  log_stream_name TEXT COLLATE "C" NOT NULL,
  created_by_request_id TEXT COLLATE "C" NOT NULL,
  modified_by_request_id TEXT COLLATE "C" NOT NULL,
  cloud TEXT COLLATE "C" NOT NULL,
  node TEXT COLLATE "C" NOT NULL,
  task_ref TEXT COLLATE "C" NOT NULL,
  timeout_seconds INTEGER NOT NULL,
  accepted_at BIGINT,
  running_at BIGINT,
  first_output_at BIGINT,
  finished_at BIGINT,
  request_json TEXT COLLATE "C" NOT NULL
);
CREATE INDEX executions_newest ON executions (started_at DESC, execution_id DESC);
CREATE INDEX executions_status ON executions (status, started_at DESC, execution_id DESC);
CREATE INDEX executions_created_by ON executions (created_by, started_at DESC, execution_id DESC);
CREATE INDEX executions_node ON executions (node, started_at DESC, execution_id DESC);

CREATE TABLE log_events (
  execution_id TEXT COLLATE "C" NOT NULL,
  sequence BIGINT NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  stream TEXT COLLATE "C" NOT NULL,
  message BYTEA NOT NULL,
  partial BOOLEAN NOT NULL,
  PRIMARY KEY (execution_id, sequence)
);

CREATE TABLE websocket_tokens (
  token_hash TEXT COLLATE "C" PRIMARY KEY,
  execution_id TEXT COLLATE "C" NOT NULL,
  email TEXT COLLATE "C" NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX websocket_tokens_expires_at ON websocket_tokens (expires_at);

CREATE TABLE audit_log (
  position BIGSERIAL PRIMARY KEY,
  node TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  time BIGINT NOT NULL,
  request_id TEXT COLLATE "C" NOT NULL,
  client_request_id TEXT COLLATE "C" NOT NULL,
  "user" TEXT COLLATE "C" NOT NULL,
  role TEXT COLLATE "C" NOT NULL,
  method TEXT COLLATE "C" NOT NULL,
  path TEXT COLLATE "C" NOT NULL,
  status INTEGER NOT NULL,
  client_ip TEXT COLLATE "C" NOT NULL,
  resource TEXT COLLATE "C" NOT NULL,
  detail TEXT COLLATE "C" NOT NULL,
  prev_hash TEXT COLLATE "C" NOT NULL,
  hash TEXT COLLATE "C" NOT NULL,
  UNIQUE (node, seq)
);

CREATE TABLE idempotency_keys (
  email TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  execution_id TEXT COLLATE "C" NOT NULL,
  response_body TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (email, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TABLE secrets (
  name TEXT COLLATE "C" PRIMARY KEY,
  key_name TEXT COLLATE "C" NOT NULL,
  description TEXT COLLATE "C" NOT NULL,
  created_by TEXT COLLATE "C" NOT NULL,
  owned_by TEXT[] NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  updated_by TEXT COLLATE "C" NOT NULL,
  created_by_request_id TEXT COLLATE "C" NOT NULL,
  modified_by_request_id TEXT COLLATE "C" NOT NULL
);

CREATE TABLE blobs (
  name TEXT COLLATE "C" PRIMARY KEY,
  value BYTEA NOT NULL
);

CREATE TABLE settings (
  key TEXT COLLATE "C" PRIMARY KEY,
  value TEXT COLLATE "C" NOT NULL
);
)sql";

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1, "initial schema", kInitialSchema},
      // The response of an idempotent POST /run is rebuilt from its execution, never stored.
      {2, "idempotency keys without a response body",
       "ALTER TABLE idempotency_keys DROP COLUMN response_body"},
  };
  return migrations;
}

core::Result<void> ApplyMigrations(Connection& connection) {
  if (auto begun = connection.Exec("BEGIN"); !begun) {
    return begun;
  }
  auto run = [&]() -> core::Result<void> {
    // Held until COMMIT/ROLLBACK: a second server waits here, then sees everything applied.
    auto locked =
        connection.Query("SELECT pg_advisory_xact_lock($1)", Params().Add(kMigrationLockKey));
    if (!locked) {
      return tl::unexpected(locked.error());
    }
    if (auto table = connection.Exec(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        !table) {
      return table;
    }
    auto rows = connection.Query("SELECT version FROM schema_version");
    if (!rows) {
      return tl::unexpected(rows.error());
    }
    std::set<int64_t> applied;
    for (int i = 0; i < rows->Count(); ++i) {
      applied.insert(rows->Int(i, 0));
    }
    for (const Migration& migration : Migrations()) {
      if (applied.count(migration.version) != 0) {
        continue;
      }
      if (auto ran = connection.Exec(migration.sql); !ran) {
        return ran;
      }
      const int64_t now = core::ToUnixMillis(
          std::chrono::time_point_cast<std::chrono::milliseconds>(core::SystemClock::now()));
      auto recorded = connection.Query(
          "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
          Params().Add(migration.version).Add(migration.name).Add(now));
      if (!recorded) {
        return tl::unexpected(recorded.error());
      }
    }
    return {};
  };
  auto result = run();
  if (!result) {
    if (!connection.Broken()) {
      (void)connection.Exec("ROLLBACK");
    }
    return result;
  }
  return connection.Exec("COMMIT");
}

}  // namespace runvoy::providers::postgres
