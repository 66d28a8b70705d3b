#include "providers/sqlite/migrations.h"

#include <chrono>

#include "core/time.h"
#include "providers/sqlite/sqlite_db.h"

namespace runvoy::providers::sqlite {
namespace {

// Times are Unix milliseconds. A user without a key has a NULL api_key_hash, so the plain unique
// index both allows many of them and serves lookups by hash. Ownership rows have no foreign key to
// users on purpose: a reconcile reports the ones whose user is gone.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE users (
  email TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  status TEXT NOT NULL,
  api_key_hash TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used INTEGER,
  created_by_request_id TEXT NOT NULL DEFAULT '',
  modified_by_request_id TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX users_api_key_hash ON users (api_key_hash);
CREATE INDEX users_role_status ON users (role, status);

CREATE TABLE claim_tokens (
  token_hash TEXT PRIMARY KEY,
  email TEXT NOT NULL REFERENCES users (email) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  claimed INTEGER NOT NULL DEFAULT 0,
  sealed_api_key TEXT NOT NULL DEFAULT ''
);
CREATE INDEX claim_tokens_email ON claim_tokens (email);

CREATE TABLE ownership (
  resource_type TEXT NOT NULL,
  resource_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  email TEXT NOT NULL,
  PRIMARY KEY (resource_type, resource_id, position)
) WITHOUT ROWID;
CREATE INDEX ownership_email ON ownership (email);

CREATE TABLE images (
  image_id TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  cpu INTEGER NOT NULL,
  memory INTEGER NOT NULL,
  runtime_platform TEXT NOT NULL,
  image_registry TEXT NOT NULL,
  image_name TEXT NOT NULL,
  image_tag TEXT NOT NULL,
  image_digest TEXT NOT NULL,
  normalized TEXT NOT NULL,
  task_role_name TEXT NOT NULL,
  task_execution_role_name TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by_request_id TEXT NOT NULL,
  modified_by_request_id TEXT NOT NULL
);
CREATE INDEX images_image ON images (image, image_id);
CREATE UNIQUE INDEX images_single_default ON images (is_default) WHERE is_default = 1;

CREATE TABLE executions (
  execution_id TEXT PRIMARY KEY,
  created_by TEXT NOT NULL,
  command TEXT NOT NULL,
  image_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  completed_at INTEGER,
  status TEXT NOT NULL,
  exit_code INTEGER,
  log_stream_name TEXT NOT NULL,
  created_by_request_id TEXT NOT NULL,
  modified_by_request_id TEXT NOT NULL,
  cloud TEXT NOT NULL,
  node TEXT NOT NULL,
  task_ref TEXT NOT NULL,
  timeout_seconds INTEGER NOT NULL,
  accepted_at INTEGER,
  running_at INTEGER,
  first_output_at INTEGER,
  finished_at INTEGER,
  request_json TEXT NOT NULL
);
CREATE INDEX executions_newest ON executions (started_at DESC, execution_id DESC);
CREATE INDEX executions_status ON executions (status, started_at DESC, execution_id DESC);
CREATE INDEX executions_created_by ON executions (created_by, started_at DESC, execution_id DESC);
CREATE INDEX executions_node ON executions (node, started_at DESC, execution_id DESC);

CREATE TABLE log_events (
  execution_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  stream TEXT NOT NULL,
  message TEXT NOT NULL,
  partial INTEGER NOT NULL,
  PRIMARY KEY (execution_id, sequence)
) WITHOUT ROWID;

CREATE TABLE websocket_tokens (
  token_hash TEXT PRIMARY KEY,
  execution_id TEXT NOT NULL,
  email TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX websocket_tokens_expires_at ON websocket_tokens (expires_at);

CREATE TABLE audit_log (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  node TEXT NOT NULL,
  seq INTEGER NOT NULL,
  time INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  client_request_id TEXT NOT NULL,
  user TEXT NOT NULL,
  role TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  status INTEGER NOT NULL,
  client_ip TEXT NOT NULL,
  resource TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  UNIQUE (node, seq)
);

CREATE TABLE idempotency_keys (
  email TEXT NOT NULL,
  key TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  response_body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (email, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  key_name TEXT NOT NULL,
  description TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  created_by_request_id TEXT NOT NULL,
  modified_by_request_id TEXT NOT NULL
);

CREATE TABLE blobs (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
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
  auto table = connection.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  if (!table) {
    return table;
  }
  for (const Migration& migration : Migrations()) {
    auto applied = connection.Transaction<void>([&]() -> core::Result<void> {
      // Checked inside the transaction: another process may have applied it meanwhile.
      auto seen = connection.Prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
      if (!seen) {
        return tl::unexpected(seen.error());
      }
      auto row = (*seen)->Bind(1, migration.version).Step();
      if (!row) {
        return tl::unexpected(row.error());
      }
      if (*row) {
        return {};
      }
      seen->reset();
      if (auto ran = connection.Exec(migration.sql); !ran) {
        return ran;
      }
      auto record = connection.Prepare(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
      if (!record) {
        return tl::unexpected(record.error());
      }
      const int64_t now = core::ToUnixMillis(
          std::chrono::time_point_cast<std::chrono::milliseconds>(core::SystemClock::now()));
      auto inserted =
          (*record)->Bind(1, migration.version).Bind(2, migration.name).Bind(3, now).Run();
      if (!inserted) {
        return tl::unexpected(inserted.error());
      }
      return {};
    });
    if (!applied) {
      return applied;
    }
  }
  return {};
}

}  // namespace runvoy::providers::sqlite
