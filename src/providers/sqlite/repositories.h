#pragma once

// Factories of the SQLite repositories; each lives in its own .cc file. Every repository keeps
// a reference to the Database, which must outlive it.

#include <memory>

#include "contract/store.h"
#include "providers/sqlite/sqlite_db.h"

namespace runvoy::providers::sqlite {

std::unique_ptr<contract::UserRepository> MakeUserRepository(Database& db);
std::unique_ptr<contract::ImageRepository> MakeImageRepository(Database& db);
std::unique_ptr<contract::ExecutionRepository> MakeExecutionRepository(Database& db);
std::unique_ptr<contract::LogRepository> MakeLogRepository(Database& db);
std::unique_ptr<contract::WebSocketTokenRepository> MakeWebSocketTokenRepository(Database& db);
std::unique_ptr<contract::AuditRepository> MakeAuditRepository(Database& db);
std::unique_ptr<contract::IdempotencyRepository> MakeIdempotencyRepository(Database& db);
std::unique_ptr<contract::SecretRepository> MakeSecretRepository(Database& db);
std::unique_ptr<contract::BlobRepository> MakeBlobRepository(Database& db);
std::unique_ptr<contract::SettingRepository> MakeSettingRepository(Database& db);

}  // namespace runvoy::providers::sqlite
