#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace runvoy::core {

// The closed set of failure kinds. server/ maps each to an HTTP status and API code,
// cli/ to an exit code; both with a switch without default, so a new code must be handled.
enum class ErrorCode {
  kInvalidRequest,
  kUnauthorized,
  kInvalidApiKey,
  kApiKeyRevoked,
  kForbidden,
  kNotFound,
  kSecretNotFound,
  kMethodNotAllowed,
  kConflict,
  kSecretAlreadyExists,
  kPayloadTooLarge,
  kRateLimited,
  kInternal,
  kDatabase,
  kServiceUnavailable,
};

// A failure that is safe to show to a client: no secret, key or stack trace in it.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // short, e.g. "execution not found"
  std::string details;  // the cause, optional
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> Fail(ErrorCode code, std::string message, std::string details = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(details)});
}

// The API code string of SPEC.md §1 ("INVALID_REQUEST", ...).
const char* ErrorCodeName(ErrorCode code);

}  // namespace runvoy::core

// A bug is not an error: log and abort.
#define RUNVOY_CHECK(cond)                                                   \
  do {                                                                       \
    if (!(cond)) ::runvoy::core::internal::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (false)

namespace runvoy::core::internal {
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line);
}  // namespace runvoy::core::internal
