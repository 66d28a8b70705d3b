#include "cli/api_client.h"

#include <array>
#include <cctype>
#include <map>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/http_client.h"

namespace runvoy::cli {
namespace {

namespace json = boost::json;
using core::ErrorCode;

ErrorCode CodeFromStatus(long status) {
  switch (status) {
    case 400: return ErrorCode::kInvalidRequest;
    case 401: return ErrorCode::kUnauthorized;
    case 403: return ErrorCode::kForbidden;
    case 404: return ErrorCode::kNotFound;
    case 405: return ErrorCode::kMethodNotAllowed;
    case 409: return ErrorCode::kConflict;
    case 413: return ErrorCode::kPayloadTooLarge;
    case 429: return ErrorCode::kRateLimited;
    case 502:
    case 503:
    case 504: return ErrorCode::kServiceUnavailable;
    default: return ErrorCode::kInternal;
  }
}

class HttpApiClient final : public ApiClient {
 public:
  explicit HttpApiClient(HttpApiClientOptions options) : options_(std::move(options)) {}

  core::Result<ApiReply> Send(std::string_view method, const std::string& path,
                              const std::string& body) override {
    std::map<std::string, std::string> headers{{"Accept", "application/json"}};
    if (!options_.api_key.empty()) {
      headers["X-API-Key"] = options_.api_key;
    }
    if (!body.empty()) {
      headers["Content-Type"] = "application/json";
    }
    const std::string url = options_.base_url + path;
    if (options_.debug_log != nullptr) {
      *options_.debug_log << "→ " << method << " " << url << "\n";
    }
    auto response = http_.Request(method, url, headers, body, options_.timeout);
    if (!response) {
      return core::Fail(
          ErrorCode::kServiceUnavailable, "cannot reach the runvoy server at " + options_.base_url,
          response.error().details.empty() ? response.error().message : response.error().details);
    }
    if (options_.debug_log != nullptr) {
      *options_.debug_log << "← " << response->status << " (" << response->body.size()
                          << " bytes)\n";
    }
    if (options_.verbose_log != nullptr) {
      if (auto it = response->headers.find("x-request-id"); it != response->headers.end()) {
        *options_.verbose_log << "request " << it->second << " (see `runvoy trace " << it->second
                              << "`)\n";
      }
    }
    if (response->status < 200 || response->status >= 300) {
      return tl::unexpected(ErrorFromResponse(response->status, response->body));
    }
    ApiReply reply;
    reply.status = static_cast<int>(response->status);
    reply.body = std::move(response->body);
    if (auto it = response->headers.find("x-request-id"); it != response->headers.end()) {
      reply.request_id = it->second;
    }
    return reply;
  }

 private:
  HttpApiClientOptions options_;
  common::HttpClient http_;
};

}  // namespace

json::value ApiReply::Json() const {
  if (body.empty()) {
    return nullptr;
  }
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) {
    return nullptr;
  }
  return value;
}

core::Result<ApiReply> ApiClient::Post(const std::string& path, const json::value& body) {
  return Send("POST", path, json::serialize(body));
}

core::Result<ApiReply> ApiClient::Put(const std::string& path, const json::value& body) {
  return Send("PUT", path, json::serialize(body));
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  static constexpr std::array kAll = {
      ErrorCode::kInvalidRequest,     ErrorCode::kUnauthorized,
      ErrorCode::kInvalidApiKey,      ErrorCode::kApiKeyRevoked,
      ErrorCode::kForbidden,          ErrorCode::kNotFound,
      ErrorCode::kSecretNotFound,     ErrorCode::kMethodNotAllowed,
      ErrorCode::kConflict,           ErrorCode::kSecretAlreadyExists,
      ErrorCode::kPayloadTooLarge,    ErrorCode::kRateLimited,
      ErrorCode::kInternal,           ErrorCode::kDatabase,
      ErrorCode::kServiceUnavailable,
  };
  for (ErrorCode code : kAll) {
    if (name == core::ErrorCodeName(code)) {
      return code;
    }
  }
  return std::nullopt;
}

core::Error ErrorFromResponse(long status, std::string_view body) {
  core::Error error{CodeFromStatus(status), "HTTP " + std::to_string(status), {}};
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return error;
  }
  const json::object& object = value.as_object();
  if (const json::value* message = object.if_contains("error"); message && message->is_string()) {
    error.message = std::string(message->as_string());
  }
  if (const json::value* details = object.if_contains("details"); details && details->is_string()) {
    error.details = std::string(details->as_string());
  }
  if (const json::value* code = object.if_contains("code"); code && code->is_string()) {
    if (auto parsed = ErrorCodeFromName(std::string_view(code->as_string()))) {
      error.code = *parsed;
    }
  }
  return error;
}

std::unique_ptr<ApiClient> MakeHttpApiClient(HttpApiClientOptions options) {
  return std::make_unique<HttpApiClient>(std::move(options));
}

}  // namespace runvoy::cli
