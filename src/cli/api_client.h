#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/url_encoding.h"

namespace runvoy::cli {

// A successful (2xx) answer of the runvoy API.
struct ApiReply {
  int status = 0;
  std::string body;        // the JSON body as sent; empty for 204
  std::string request_id;  // X-Request-ID, when the server sent one

  // The body parsed as JSON; null for an empty or malformed body.
  boost::json::value Json() const;
};

// Talks to the runvoy API (SPEC.md §2). Paths are relative to the base path /api/v1 and may
// carry a query ("/executions/abc/logs?after=5").
//
// A 2xx status is a reply; any other status is an Error carrying the server's code, message
// (`error`) and details. A server that cannot be reached is kServiceUnavailable with
// "cannot reach the runvoy server at <url>: <cause>". Blocks. Not thread-safe.
class ApiClient {
 public:
  virtual ~ApiClient() = default;
  virtual core::Result<ApiReply> Send(std::string_view method, const std::string& path,
                                      const std::string& body) = 0;

  core::Result<ApiReply> Get(const std::string& path) { return Send("GET", path, ""); }
  core::Result<ApiReply> Delete(const std::string& path) { return Send("DELETE", path, ""); }
  core::Result<ApiReply> Post(const std::string& path, const boost::json::value& body);
  core::Result<ApiReply> Put(const std::string& path, const boost::json::value& body);
};

// The error a non-2xx answer stands for: code from the body's `code` (else from the HTTP
// status), message from `error` (else the status line).
core::Error ErrorFromResponse(long status, std::string_view body);

// The ErrorCode whose ErrorCodeName is `name`, or nullopt.
std::optional<core::ErrorCode> ErrorCodeFromName(std::string_view name);

struct HttpApiClientOptions {
  std::string base_url;  // ".../api/v1"
  std::string api_key;   // sent as X-API-Key when not empty
  std::chrono::milliseconds timeout{600'000};
  std::ostream* debug_log = nullptr;    // when set, each request and status is written here
  std::ostream* verbose_log = nullptr;  // when set, each answer's X-Request-ID is written here
};

// The ApiClient over HTTP(S), with libcurl.
std::unique_ptr<ApiClient> MakeHttpApiClient(HttpApiClientOptions options);

// Paths and queries the commands build are encoded with core's (core/url_encoding.h).
using core::UrlEncode;
using core::UrlEncodePath;

}  // namespace runvoy::cli
