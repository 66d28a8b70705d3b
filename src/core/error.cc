#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace runvoy::core {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidRequest: return "INVALID_REQUEST";
    case ErrorCode::kUnauthorized: return "UNAUTHORIZED";
    case ErrorCode::kInvalidApiKey: return "INVALID_API_KEY";
    case ErrorCode::kApiKeyRevoked: return "API_KEY_REVOKED";
    case ErrorCode::kForbidden: return "FORBIDDEN";
    case ErrorCode::kNotFound: return "NOT_FOUND";
    case ErrorCode::kSecretNotFound: return "SECRET_NOT_FOUND";
    case ErrorCode::kMethodNotAllowed: return "METHOD_NOT_ALLOWED";
    case ErrorCode::kConflict: return "CONFLICT";
    case ErrorCode::kSecretAlreadyExists: return "SECRET_ALREADY_EXISTS";
    case ErrorCode::kPayloadTooLarge: return "PAYLOAD_TOO_LARGE";
    case ErrorCode::kRateLimited: return "RATE_LIMITED";
    case ErrorCode::kInternal: return "INTERNAL_ERROR";
    case ErrorCode::kDatabase: return "DATABASE_ERROR";
    case ErrorCode::kServiceUnavailable: return "SERVICE_UNAVAILABLE";
  }
  return "INTERNAL_ERROR";
}

namespace internal {
void CheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "runvoy: check failed: %s at %s:%d\n", condition, file, line);
  std::abort();
}
}  // namespace internal

}  // namespace runvoy::core
