#pragma once

// The PostgreSQL repositories, one factory each (users.cc, images.cc, executions.cc, logs.cc,
// records.cc), and what they share: time and enum column mappings and early-return macros.
// Every repository keeps a reference to the Pool, which must outlive it.

#include <cstdint>
#include <memory>
#include <optional>

#include "contract/store.h"
#include "core/records.h"
#include "providers/postgres/pg_db.h"
#include "providers/stored/time_columns.h"

// Evaluates `expr` (a Result<T>) and returns its error from the enclosing function on failure;
// otherwise binds `name` to the value.
#define RUNVOY_PG_ASSIGN(name, expr)              \
  auto name##_result = (expr);                    \
  if (!name##_result) {                           \
    return tl::unexpected(name##_result.error()); \
  }                                               \
  auto& name = *name##_result  // NOLINT(bugprone-macro-parentheses): a declarator

// Evaluates `expr` (a Result<T>) and returns its error from the enclosing function on failure.
#define RUNVOY_PG_CHECK(expr)                          \
  do {                                                 \
    if (auto check_result_ = (expr); !check_result_) { \
      return tl::unexpected(check_result_.error());    \
    }                                                  \
  } while (false)

namespace runvoy::providers::postgres {

using stored::Millis;
using stored::Time;

// Rows fetched per round trip by the streamed listings (List/Read), so a huge log or history
// is never held in memory; no connection is held while the visitor runs.
inline constexpr int64_t kFetchChunk = 500;

std::unique_ptr<contract::UserRepository> MakeUserRepository(Pool& pool);
std::unique_ptr<contract::ImageRepository> MakeImageRepository(Pool& pool);
std::unique_ptr<contract::ExecutionRepository> MakeExecutionRepository(Pool& pool);
std::unique_ptr<contract::LogRepository> MakeLogRepository(Pool& pool);
std::unique_ptr<contract::WebSocketTokenRepository> MakeWebSocketTokenRepository(Pool& pool);
std::unique_ptr<contract::AuditRepository> MakeAuditRepository(Pool& pool);
std::unique_ptr<contract::IdempotencyRepository> MakeIdempotencyRepository(Pool& pool);
std::unique_ptr<contract::SecretRepository> MakeSecretRepository(Pool& pool);
std::unique_ptr<contract::BlobRepository> MakeBlobRepository(Pool& pool);
std::unique_ptr<contract::SettingRepository> MakeSettingRepository(Pool& pool);

}  // namespace runvoy::providers::postgres
