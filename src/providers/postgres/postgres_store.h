#pragma once

// The PostgreSQL store (libpq), for several servers sharing one database (IsShared() is true).
// Same behaviour as the SQLite store: every repository passes tests/contract/store_test.cc.
// Connections come from a bounded pool (Pool in pg_db.h): a call waits up to acquire_timeout
// for a free connection, a connection the server dropped (restart) is replaced on next use, and
// an unreachable server answers ErrorCode::kDatabase quickly ("database unavailable: ..."),
// which the API turns into 503 DATABASE_ERROR. Schema migrations run at open under an advisory
// lock, so servers starting together on an empty database are safe. Notices() is LISTEN/NOTIFY
// on the channel "runvoy_notices" (notifier.h). Thread-safe; a `visit` callback of a streamed
// List/Read may call back into the store (rows are fetched in chunks; no connection is held
// while it runs).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "contract/registry.h"
#include "contract/store.h"
#include "core/error.h"

namespace runvoy::providers::postgres {

struct PostgresOptions {
  std::string dsn;  // libpq connection string or postgresql:// URI
  std::size_t pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  // Used when the DSN names none; set `connect_timeout_explicit` to override the DSN's.
  std::chrono::seconds connect_timeout{5};
  bool connect_timeout_explicit = false;
  std::chrono::milliseconds statement_timeout{30000};
  std::string channel = "runvoy_notices";
};

// Adds store "postgres" with section keys "dsn" (required), "pool_size" (default 8),
// "connect_timeout" (default 5s), "acquire_timeout" (default 5s) and "statement_timeout"
// (default 30s); durations as "500ms", "5s", "1m" or a bare number of seconds.
void Register(contract::Registry& registry);

// The options a "store.postgres" section describes; kInvalidRequest naming the bad key.
core::Result<PostgresOptions> OptionsFromSection(const contract::ProviderContext& context);

// Connects, applies pending migrations and returns the store. kDatabase when the server cannot
// be reached or the migration fails; kInvalidRequest when the DSN is empty. Blocks.
core::Result<std::unique_ptr<contract::Store>> OpenPostgresStore(const PostgresOptions& options);

}  // namespace runvoy::providers::postgres
