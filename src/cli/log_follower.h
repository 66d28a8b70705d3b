#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "cli/api_client.h"
#include "cli/log_printer.h"
#include "cli/output.h"
#include "core/error.h"

namespace runvoy::cli {

enum class InterruptChoice { kKill, kDetach };

struct FollowOptions {
  // Pause between two polls when following without a WebSocket.
  std::chrono::milliseconds poll_interval{1000};
  // Reconnection attempts in a row before falling back to polling.
  int max_reconnects = 5;
  // Catch SIGINT while following and ask `on_interrupt` what to do.
  bool handle_signals = true;
  // What to do on Ctrl-C; unset = detach.
  std::function<InterruptChoice()> on_interrupt;
};

struct FollowOutcome {
  bool detached = false;  // the user chose to stop following; the execution goes on
  int exit_code = 0;      // the remote command's exit code (when not detached)
  std::string status;     // its final status (when not detached)
};

// The pieces of a ws:// or wss:// URL to connect to, with `last_event_id` appended to the
// query when not empty.
struct WebSocketTarget {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query
};
std::optional<WebSocketTarget> ParseWebSocketUrl(const std::string& url,
                                                 const std::string& last_event_id);

// Follows the output of one execution until it ends: over its WebSocket, reconnecting with
// `last_event_id` after a dropped connection, and by polling GET /executions/{id}/logs when
// the WebSocket is refused or cannot be opened. Every event goes through `printer`, which
// drops replays, so no line is printed twice and none is missed.
//
// Blocks until the execution finished or the user detached. Errors only when runvoy itself
// failed: the server cannot be reached any more, or the API refused a request.
class LogFollower {
 public:
  LogFollower(ApiClient& api, LogPrinter& printer, std::ostream& err, const Style& style,
              FollowOptions options);
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;
  LogFollower(LogFollower&&) = delete;
  LogFollower& operator=(LogFollower&&) = delete;

  // `websocket_url` may be empty (then it polls from the start).
  core::Result<FollowOutcome> Follow(const std::string& execution_id,
                                     const std::string& websocket_url);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runvoy::cli
