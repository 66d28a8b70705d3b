#include "server/error_response.h"

#include <boost/json.hpp>

namespace runvoy::server {

int HttpStatusOf(core::ErrorCode code) {
  using core::ErrorCode;
  switch (code) {
    case ErrorCode::kInvalidRequest: return 400;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kInvalidApiKey: return 401;
    case ErrorCode::kApiKeyRevoked: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kSecretNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kSecretAlreadyExists: return 409;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kInternal: return 500;
    case ErrorCode::kDatabase: return 503;
    case ErrorCode::kServiceUnavailable: return 503;
  }
  return 500;
}

std::string ErrorBody(const core::Error& error) {
  boost::json::object body;
  body["error"] = error.message;
  body["code"] = core::ErrorCodeName(error.code);
  if (!error.details.empty()) body["details"] = error.details;
  return boost::json::serialize(body);
}

HttpResponse ErrorResponse(const core::Error& error) {
  HttpResponse response;
  response.status = HttpStatusOf(error.code);
  response.SetHeader("Content-Type", "application/json");
  response.body = ErrorBody(error);
  return response;
}

}  // namespace runvoy::server
