#pragma once

// The HTTP request and response as runvoy's handlers see them: plain values, no Beast types,
// so routing, middleware and handlers are testable without a socket.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace runvoy::server {

struct HttpRequest {
  std::string method;     // "GET", "POST", ...
  std::string target;     // as received: path and query, still percent-encoded
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string peer_ip;    // the socket peer
  bool tls = false;

  // The header's value, or "" when absent. `name` must be lowercase.
  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Produces a large body piece by piece: fills `chunk` with the next piece and returns true while
// more follows; returns false after the last piece (which may be empty). Runs on a worker thread.
using BodyProducer = std::function<bool(std::string& chunk)>;

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  BodyProducer producer;  // when set, `body` is ignored and the body is sent chunked

  void SetHeader(const std::string& name, const std::string& value) {
    for (auto& [key, current] : headers) {
      if (key == name) {
        current = value;
        return;
      }
    }
    headers.emplace_back(name, value);
  }
};

// What the transport calls for every plain HTTP request. Implementations may block (store
// calls): the transport runs them on its worker pool, never on an I/O thread. Thread-safe.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual HttpResponse Handle(HttpRequest request) = 0;
  // The request's Content-Length exceeds the body limit: answer without the body (413),
  // after routing (an unknown path still answers 404).
  virtual HttpResponse HandleOversized(HttpRequest head) = 0;
};

}  // namespace runvoy::server
