#pragma once

// Schema migrations of the PostgreSQL store, recorded in `schema_version (version, name,
// applied_at)`. Every server applies the missing ones at start, all in one transaction under a
// transaction-scoped advisory lock: servers starting at once on an empty database take turns,
// the first migrates and the others find the work done.

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace runvoy::providers::postgres {

class Connection;

struct Migration {
  int64_t version;
  std::string name;
  std::string sql;
};

// The migrations in version order.
const std::vector<Migration>& Migrations();

// The advisory lock key that serialises migrations (and nothing else).
inline constexpr int64_t kMigrationLockKey = 0x72756e766f7901;  // "runvoy" 1

// Applies every migration not yet recorded; kDatabase on failure (nothing is applied then).
core::Result<void> ApplyMigrations(Connection& connection);

}  // namespace runvoy::providers::postgres
