#pragma once

// A small Docker Engine API client over libcurl: the unix socket (unix:///path), plain TCP
// (tcp://host:port) or TCP with TLS (tcp://host:port plus CA, certificate and key files).
// Requests are pinned to API version 1.41 (docker 20.10).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/url_encoding.h"

namespace runvoy::providers::docker {

struct DockerEndpoint {
  std::string host = "unix:///var/run/docker.sock";  // as configured, for messages
  std::string tls_ca;    // with tcp://: verify the daemon against this CA
  std::string tls_cert;  // with tcp://: client certificate and key
  std::string tls_key;
};

// kInvalidRequest when `endpoint.host` is neither unix:///path nor tcp://host:port, or names
// TLS files for a unix socket.
core::Result<void> ValidateEndpoint(const DockerEndpoint& endpoint);

struct DockerResponse {
  long status = 0;
  std::string body;
};

// One connection to the daemon. Not thread-safe: one instance per thread. Blocks the calling
// thread. Failures to talk to the daemon at all are kServiceUnavailable "docker daemon
// unreachable at <host>: <cause>"; any HTTP status is a successful result.
class DockerClient {
 public:
  // Called with each piece of a streamed body; false stops the transfer.
  using ChunkCallback = std::function<bool(std::string_view chunk)>;
  // Called about once a second (and more often while data flows); false aborts the transfer.
  using KeepGoing = std::function<bool()>;
  // Called once the answer's status line and headers are in, before any of its body.
  using OnHeaders = std::function<void(long status)>;

  explicit DockerClient(DockerEndpoint endpoint);
  ~DockerClient();
  DockerClient(const DockerClient&) = delete;
  DockerClient& operator=(const DockerClient&) = delete;

  const std::string& host() const { return endpoint_.host; }

  // `path` starts with "/" and is relative to /v1.41 ("/containers/json"); `body` is sent as
  // JSON when non-empty. `timeout` zero = no limit.
  core::Result<DockerResponse> Call(std::string_view method, const std::string& path,
                                    std::string_view body = {},
                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Like Call, but the body of a 2xx answer goes to `on_chunk` as it arrives (an error
  // answer's body is collected into the response instead). A transfer stopped by `on_chunk`
  // or `keep_going` is kServiceUnavailable "transfer aborted". A body without a length (the
  // raw stream of a hijacked connection, as /attach answers) lasts until the daemon closes.
  core::Result<DockerResponse> Stream(std::string_view method, const std::string& path,
                                      std::string_view body, const ChunkCallback& on_chunk,
                                      const KeepGoing& keep_going,
                                      const OnHeaders& on_headers = nullptr);

 private:
  struct State;
  DockerEndpoint endpoint_;
  std::string base_url_;
  std::string socket_path_;
  std::unique_ptr<State> state_;
};

// Percent-encodes `text` for a URL query or path segment.
using core::UrlEncode;

// The message of an Engine API error body ({"message": "..."}), else the body itself.
std::string ErrorMessage(const DockerResponse& response);

}  // namespace runvoy::providers::docker
