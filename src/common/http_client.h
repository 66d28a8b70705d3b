#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace runvoy::common {

// One HTTP response. Header names are lowercase; a repeated header keeps its last value.
struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;
  std::string body;  // empty when the body went to a chunk callback
};

struct HttpClientOptions {
  // When set, every request goes over this Unix domain socket (the URL still names the
  // host and path), e.g. "/var/run/docker.sock".
  std::string unix_socket_path;
  std::chrono::milliseconds connect_timeout{10'000};
};

// A small synchronous HTTP/1.1 client over libcurl. It keeps one connection cache, so
// consecutive requests to the same server reuse the connection.
//
// Not thread-safe: use one instance per thread. Blocks the calling thread for the whole
// request. Never throws. Any HTTP status is a successful Result; only failures to talk to
// the server at all (DNS, connect, TLS, timeout, broken connection) are errors, reported as
// kServiceUnavailable with message "cannot reach <url>: <cause>" and details "<cause>".
class HttpClient {
 public:
  // Called with each piece of the body as it arrives; return false to abort the transfer
  // (the request then fails with kServiceUnavailable "transfer aborted").
  using ChunkCallback = std::function<bool(std::string_view chunk)>;

  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) = delete;
  HttpClient& operator=(HttpClient&&) = delete;

  // `method` is "GET", "POST", "PUT", "DELETE", ...; `headers` are sent as given; `body` is
  // sent when non-empty (or always for POST/PUT). `timeout` bounds the whole request; zero
  // means no limit.
  core::Result<HttpResponse> Request(std::string_view method, const std::string& url,
                                     const std::map<std::string, std::string>& headers,
                                     std::string_view body, std::chrono::milliseconds timeout);

  // Like Request, but the body is handed to `on_chunk` piece by piece instead of being
  // collected, for bodies too large to hold.
  core::Result<HttpResponse> RequestStreaming(std::string_view method, const std::string& url,
                                              const std::map<std::string, std::string>& headers,
                                              std::string_view body,
                                              std::chrono::milliseconds timeout,
                                              const ChunkCallback& on_chunk);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace runvoy::common
