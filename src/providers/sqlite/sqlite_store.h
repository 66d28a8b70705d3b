#pragma once

// The embedded SQLite store (the default). One file, WAL mode, schema migrations applied at
// open. Thread-safe: writes go through one writer connection under a mutex, reads borrow a
// pooled reader connection; a `visit` callback of a streamed List/Read may call back into the
// store. Not shared between servers (IsShared() is false).

#include <memory>
#include <string>

#include "contract/registry.h"
#include "contract/store.h"
#include "core/error.h"

namespace runvoy::providers::sqlite {

// Adds store "sqlite" with section key "path" (default <data_dir>/runvoy.db).
void Register(contract::Registry& registry);

// Opens (creating when absent) the database file at `path` and applies pending migrations.
// kDatabase when the file cannot be opened or migrated. Blocks.
core::Result<std::unique_ptr<contract::Store>> OpenSqliteStore(const std::string& path);

}  // namespace runvoy::providers::sqlite
