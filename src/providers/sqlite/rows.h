#pragma once

// Shared pieces of the SQLite repositories: how values map to columns (times as Unix
// milliseconds, enums as their lowercase/uppercase names) and the ownership table that keeps
// `owned_by` lists in order, creator first.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/records.h"
#include "providers/sqlite/sqlite_db.h"
#include "providers/stored/time_columns.h"

// Evaluates `expr` (a Result<T>) and returns its error from the enclosing function on failure;
// otherwise binds `name` to the value.
#define RUNVOY_SQLITE_ASSIGN(name, expr)          \
  auto name##_result = (expr);                    \
  if (!name##_result) {                           \
    return tl::unexpected(name##_result.error()); \
  }                                               \
  auto& name = *name##_result  // NOLINT(bugprone-macro-parentheses): a declarator

// Evaluates `expr` (a Result<T>) and returns its error from the enclosing function on failure.
#define RUNVOY_SQLITE_CHECK(expr)                      \
  do {                                                 \
    if (auto check_result_ = (expr); !check_result_) { \
      return tl::unexpected(check_result_.error());    \
    }                                                  \
  } while (false)

namespace runvoy::providers::sqlite {

using stored::Millis;
using stored::Time;

// Resource types of the ownership table.
inline constexpr const char* kOwnedExecution = "execution";
inline constexpr const char* kOwnedImage = "image";
inline constexpr const char* kOwnedSecret = "secret";

// The owners of a resource in their stored order.
Result<std::vector<std::string>> ReadOwners(Connection& connection, const char* type,
                                            const std::string& id);
// Replaces the owners of a resource. Call inside a transaction.
Result<void> WriteOwners(Connection& connection, const char* type, const std::string& id,
                         const std::vector<std::string>& owners);
Result<void> DeleteOwners(Connection& connection, const char* type, const std::string& id);

}  // namespace runvoy::providers::sqlite
