#pragma once

// Internal to the transport: the live-log WebSocket endpoint, /api/v1/ws (SPEC.md §2.4).

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/error.h"
#include "server/http_message.h"
#include "server/http_transport.h"
#include "server/live_log_source.h"
#include "server/log_hub.h"

namespace runvoy::server {

inline constexpr const char* kLiveLogPath = "/api/v1/ws";

// The query of a follow request.
struct FollowRequest {
  std::string execution_id;
  std::string token;
  int64_t after_sequence = 0;  // from last_event_id; 0 = everything
  bool batch = false;
};

// Parses the query of `target` (origin form). Errors: kInvalidRequest (no execution_id, bad
// last_event_id, unparseable target), kUnauthorized (no token).
core::Result<FollowRequest> ParseFollowTarget(const std::string& target);

// The HTTP response refusing an upgrade with `error`: the status for its code and the JSON
// error body {"error","code","details"?}.
HttpResponse RefusalResponse(const core::Error& error);

// The followers that are open, so that shutdown can close them (1001). Thread-safe.
class FollowerRegistry {
 public:
  // Returns false once shutdown began; the follower must then go away at once.
  bool Add(const std::shared_ptr<LogSubscription>& subscription) {
    std::scoped_lock lock(mutex_);
    if (closing_) {
      return false;
    }
    open_.insert(subscription);
    return true;
  }
  void Remove(const std::shared_ptr<LogSubscription>& subscription) {
    std::scoped_lock lock(mutex_);
    open_.erase(subscription);
  }
  // Asks every open follower, and every later one, to go away.
  void CloseAll() {
    std::scoped_lock lock(mutex_);
    closing_ = true;
    for (const auto& subscription : open_) {
      subscription->GoAway();
    }
  }
  // Removes and returns the followers still open (after the io_context has stopped).
  std::set<std::shared_ptr<LogSubscription>> TakeAll() {
    std::scoped_lock lock(mutex_);
    return std::exchange(open_, {});
  }
  bool closing() const {
    std::scoped_lock lock(mutex_);
    return closing_;
  }

 private:
  mutable std::mutex mutex_;  // guards the members below
  std::set<std::shared_ptr<LogSubscription>> open_;
  bool closing_ = false;
};

// What a follower session uses; every reference outlives the server's sessions.
struct FollowerContext {
  LiveLogSource& source;
  LogHub& hub;
  boost::asio::thread_pool& pool;
  FollowerRegistry& registry;
  LiveLogOptions options;
};

// Accepts the upgrade `request` (already authorised) on `connection` and follows the execution:
// the stored backlog after follow.after_sequence, then live events without gap or duplicate, then
// the disconnect frame and a normal close once the execution has finished. Closes with 1013
// when the follower's queue overflows, 1001 on shutdown. Runs on the connection's strand.
template <class Connection>
boost::asio::awaitable<void> ServeFollower(
    Connection connection, boost::beast::http::request<boost::beast::http::empty_body> request,
    FollowRequest follow, FollowerContext context);

extern template boost::asio::awaitable<void> ServeFollower<boost::beast::tcp_stream>(
    boost::beast::tcp_stream, boost::beast::http::request<boost::beast::http::empty_body>,
    FollowRequest, FollowerContext);
extern template boost::asio::awaitable<void>
    ServeFollower<boost::beast::ssl_stream<boost::beast::tcp_stream>>(
        boost::beast::ssl_stream<boost::beast::tcp_stream>,
        boost::beast::http::request<boost::beast::http::empty_body>, FollowRequest,
        FollowerContext);

}  // namespace runvoy::server
