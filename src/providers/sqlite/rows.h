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
#include "core/time.h"
#include "providers/sqlite/sqlite_db.h"

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

inline int64_t Millis(core::TimePoint t) {
  return core::ToUnixMillis(t);
}
inline std::optional<int64_t> Millis(const std::optional<core::TimePoint>& t) {
  if (!t) {
    return std::nullopt;
  }
  return core::ToUnixMillis(*t);
}
inline core::TimePoint Time(int64_t ms) {
  return core::FromUnixMillis(ms);
}
inline std::optional<core::TimePoint> Time(const std::optional<int64_t>& ms) {
  if (!ms) {
    return std::nullopt;
  }
  return core::FromUnixMillis(*ms);
}

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
