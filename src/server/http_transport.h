#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <map>
#include <string>

#include "core/error.h"
#include "server/http_message.h"
#include "server/live_log_source.h"
#include "server/log_hub.h"

namespace runvoy::server {

// Settings of the live-log WebSocket endpoint. The bounds of each follower's queue are the
// LogHub's (FollowerQueueLimits).
struct LiveLogOptions {
  std::chrono::milliseconds ping_interval{20000};  // a ping after this long without traffic
  std::size_t max_frame_bytes = 1 << 20;           // cap of one batch=1 frame
  std::size_t backlog_page_events = 1000;          // stored events read per page
  std::size_t backlog_page_bytes = 1 << 20;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  std::size_t max_body_bytes = 1 << 20;
  // Paths (without query) whose requests have their own body limit instead of max_body_bytes.
  std::map<std::string, std::size_t> body_limits;
  std::size_t max_header_bytes = 16 << 10;
  int worker_threads = 8;  // blocking handler calls run here
  int io_threads = 2;
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive idle, slow request, stalled write
  std::chrono::milliseconds shutdown_grace{10000};  // Stop() waits this long for in-flight work
  // TLS (1.2 and later) when both are set: PEM certificate chain and private key.
  std::string tls_cert_file;
  std::string tls_key_file;
  LiveLogOptions live_logs;
};

// The HTTP/1.1 + WebSocket server on one port (Boost.Beast). Plain requests go to `handler`,
// run on a bounded worker pool; WebSocket upgrades to /api/v1/ws follow an execution's log
// through `live_logs` (authorisation, backlog) and `hub` (new events); other upgrade requests
// are plain requests for `handler`. A response with a producer is sent chunked, each piece pulled
// on the worker pool. A request whose body is over max_body_bytes is answered by
// handler.HandleOversized() without reading the body, and the connection is closed. Malformed
// HTTP is answered 400 and the connection closed.
//
// `handler`, `live_logs` and `hub` must outlive the server. Start/Stop from one thread.
class HttpServer {
 public:
  HttpServer(HttpHandler& handler, LiveLogSource& live_logs, LogHub& hub,
             HttpServerOptions options);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stops the server if it still runs.
  ~HttpServer();

  // Binds, listens and starts serving. Returns the bound port. Errors: kInvalidRequest (bad
  // host, unreadable TLS files), kServiceUnavailable (the address cannot be bound).
  core::Result<int> Start();

  // Graceful shutdown: stops accepting, closes idle connections, lets in-flight requests finish
  // (waiting at most shutdown_grace), closes WebSocket followers with 1001 and joins every
  // thread. Blocks; idempotent.
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace runvoy::server
