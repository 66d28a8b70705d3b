#pragma once

// Schema migrations of the SQLite store. Each migration runs in its own transaction and is
// recorded in `schema_migrations (version, name, applied_at)`; opening a database applies the
// ones it lacks, so opening twice changes nothing.

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace runvoy::providers::sqlite {

class Connection;

struct Migration {
  int64_t version;
  std::string name;
  std::string sql;
};

// The migrations in version order.
const std::vector<Migration>& Migrations();

// Applies every migration not yet recorded. kDatabase on failure (the failed one is rolled
// back; earlier ones stay applied).
core::Result<void> ApplyMigrations(Connection& connection);

}  // namespace runvoy::providers::sqlite
