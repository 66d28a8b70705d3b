#include "server/websocket_follower.h"

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "core/ids.h"
#include "core/status.h"
#include "server/exclusive_write_stream.h"
#include "server/log_event_json.h"
#include "server/websocket_frames.h"
#include "server/worker_pool.h"

namespace runvoy::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using namespace asio::experimental::awaitable_operators;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

int StatusFor(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::kInvalidRequest: return 400;
    case core::ErrorCode::kUnauthorized:
    case core::ErrorCode::kInvalidApiKey:
    case core::ErrorCode::kApiKeyRevoked: return 401;
    case core::ErrorCode::kForbidden: return 403;
    case core::ErrorCode::kNotFound:
    case core::ErrorCode::kSecretNotFound: return 404;
    case core::ErrorCode::kMethodNotAllowed: return 405;
    case core::ErrorCode::kConflict:
    case core::ErrorCode::kSecretAlreadyExists: return 409;
    case core::ErrorCode::kPayloadTooLarge: return 413;
    case core::ErrorCode::kRateLimited: return 429;
    case core::ErrorCode::kInternal: return 500;
    case core::ErrorCode::kDatabase:
    case core::ErrorCode::kServiceUnavailable: return 503;
  }
  return 500;
}

// How long the end of a connection may take once the close frame is out: the peer's answer and
// the TCP/TLS shutdown. Past it the socket is closed.
constexpr std::chrono::seconds kCloseTimeout{10};

// A follower's queued frames are written in pieces of about this size.
constexpr std::size_t kWriteBytes = 64 << 10;

// Per-follower state shared with the hub's wake callback. Only touched on the strand, except
// wake_timer.cancel() posted by the hub.
struct FollowerState {
  explicit FollowerState(const asio::any_io_executor& executor) : wake_timer(executor) {}
  asio::steady_timer wake_timer;  // the writer waits on it; cancel() wakes it
  bool reader_done = false;
  beast::error_code read_error;              // why the reader ended
  asio::cancellation_signal stop_reading;    // the writer's way to end a pending read
  bool stop_requested = false;               // the writer asked the reader to stop
};

std::string DisconnectFrame(const FinishedNotice& finished) {
  boost::json::object frame;
  frame["type"] = "disconnect";
  frame["reason"] = "execution_completed";
  const std::string_view status = core::StatusName(finished.status);
  frame["status"] = boost::json::string(status.data(), status.size());
  if (finished.exit_code) {
    frame["exit_code"] = *finished.exit_code;
  } else {
    frame["exit_code"] = nullptr;
  }
  return boost::json::serialize(frame);
}

// Reads (and ignores) what the client sends, so that pings, pongs and the close handshake are
// handled, until the connection ends or the writer stops it (Writer::Close). When the client
// ended it (close handshake, EOF even of one direction only, reset, bad frame: Beast has then
// answered and torn the connection down as needed), a write blocked on the client is aborted, so
// that the follower ends at once.
template <class NextLayer>
asio::awaitable<void> ReadLoop(websocket::stream<NextLayer>& ws, FollowerState& state) {
  beast::flat_buffer buffer;
  while (!state.stop_requested) {
    buffer.clear();
    // Named, not a temporary: see the note on GCC 12 in http_transport.cc.
    auto read_token = asio::bind_cancellation_slot(state.stop_reading.slot(), kNoThrow);
    auto [ec, bytes] = co_await ws.async_read(buffer, std::move(read_token));
    if (ec) {
      state.read_error = ec;
      break;
    }
  }
  state.reader_done = true;
  if (!state.stop_requested) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().cancel(ignored);
  }
  state.wake_timer.cancel();
}

template <class NextLayer>
class Writer {
 public:
  Writer(websocket::stream<NextLayer>& ws, FollowerState& state,
         std::shared_ptr<LogSubscription> subscription, FollowRequest follow,
         FollowerContext context)
      : ws_(ws),
        state_(state),
        subscription_(std::move(subscription)),
        follow_(std::move(follow)),
        context_(context),
        last_sent_(follow_.after_sequence) {}

  asio::awaitable<void> Run() {
    const std::string execution_id = follow_.execution_id;
    LiveLogSource& source = context_.source;
    // Named, not a temporary: see the note on GCC 12 in http_transport.cc.
    auto read_finished = [&source, execution_id]() -> core::Result<std::optional<FinishedNotice>> {
      try {
        auto finished = source.FinishedState(execution_id);
        if (!finished) {
          return tl::unexpected(finished.error());
        }
        if (!finished->has_value()) {
          return std::optional<FinishedNotice>();
        }
        return FinishedNotice{(*finished)->status, (*finished)->exit_code};
      } catch (const std::exception& e) {
        return core::Fail(core::ErrorCode::kInternal, "finished state failed", e.what());
      }
    };
    auto finished_at_connect = co_await RunOnPool(context_.pool, std::move(read_finished));
    if (!finished_at_connect) {
      co_await Close(websocket::close_code::internal_error);
      co_return;
    }
    // Everything stored before the final status is sent with the backlog.
    std::optional<FinishedNotice> finished = *finished_at_connect;
    if (!co_await SendBacklog(finished)) {
      co_return;
    }
    for (;;) {
      if (state_.reader_done) {
        co_return;
      }
      LogDelivery delivery = subscription_->Take();
      if (delivery.going_away) {
        co_await Close(websocket::close_code::going_away);
        co_return;
      }
      if (delivery.overflowed) {
        co_await Close(websocket::close_code::try_again_later);
        co_return;
      }
      std::vector<SharedLogEvent> events;
      for (const auto& batch : delivery.events) {
        for (const SharedLogEvent& event : *batch) {
          if (event.sequence > last_sent_) {
            events.push_back(event);
          }
        }
      }
      if (!events.empty() && !co_await Send(events)) {
        co_return;
      }
      if (!finished) {
        finished = delivery.finished;
      }
      if (finished) {
        ws_.text(true);
        const std::string frame = DisconnectFrame(*finished);
        auto [ec, bytes] = co_await ws_.async_write(asio::buffer(frame), kNoThrow);
        if (!ec) {
          co_await Close(websocket::close_code::normal);
        }
        co_return;
      }
      if (events.empty() && !state_.reader_done) {
        state_.wake_timer.expires_at(asio::steady_timer::time_point::max());
        co_await state_.wake_timer.async_wait(kNoThrow);
      }
    }
  }

 private:
  // Sends the stored events after last_sent_ page by page, until the store has no more or the
  // live queue continues right after the last event sent. False when the connection is done.
  asio::awaitable<bool> SendBacklog(std::optional<FinishedNotice>& finished) {
    LiveLogSource& source = context_.source;
    const std::string execution_id = follow_.execution_id;
    const std::size_t page_events = context_.options.backlog_page_events;
    const std::size_t page_bytes = context_.options.backlog_page_bytes;
    for (;;) {
      if (state_.reader_done) {
        co_return false;
      }
      if (context_.registry.closing()) {
        co_await Close(websocket::close_code::going_away);
        co_return false;
      }
      // Drain the live queue between pages, so that it cannot overflow while a long backlog goes
      // out to a fast client. Its events are stored too, so they can be dropped while the store is
      // still ahead of them; once they continue right after last_sent_ the backlog is over.
      LogDelivery live = subscription_->Take();
      if (live.going_away) {
        co_await Close(websocket::close_code::going_away);
        co_return false;
      }
      if (live.overflowed) {
        co_await Close(websocket::close_code::try_again_later);
        co_return false;
      }
      if (live.finished && !finished) {
        finished = live.finished;
      }
      if (!live.events.empty() && live.events.front()->front().sequence <= last_sent_ + 1) {
        std::vector<SharedLogEvent> events;
        for (const auto& batch : live.events) {
          for (const SharedLogEvent& event : *batch) {
            if (event.sequence > last_sent_) {
              events.push_back(event);
            }
          }
        }
        if (events.empty()) {
          co_return true;
        }
        const bool sent = co_await Send(events);
        co_return sent;
      }
      const int64_t after = last_sent_;
      auto read_page = [&source, execution_id, after, page_events,
                        page_bytes]() -> core::Result<std::vector<SharedLogEvent>> {
        std::vector<SharedLogEvent> events;
        std::size_t bytes = 0;
        try {
          auto read = source.ReadAfter(execution_id, after, [&](const core::LogEvent& event) {
            auto json = std::make_shared<const std::string>(SerializeLogEvent(event));
            bytes += json->size();
            events.push_back(SharedLogEvent{event.sequence, std::move(json)});
            return events.size() < page_events && bytes < page_bytes;
          });
          if (!read) {
            return tl::unexpected(read.error());
          }
        } catch (const std::exception& e) {
          return core::Fail(core::ErrorCode::kInternal, "reading the backlog failed", e.what());
        }
        return events;
      };
      auto page = co_await RunOnPool(context_.pool, std::move(read_page));
      if (!page) {
        co_await Close(websocket::close_code::internal_error);
        co_return false;
      }
      if (page->empty()) {
        co_return true;
      }
      if (!co_await Send(*page)) {
        co_return false;
      }
    }
  }

  // Sends `events` (ascending, all after last_sent_), one frame each or as batch frames. The
  // frames are written together, up to kWriteBytes at a time, straight to the layer under Beast
  // (exclusive_write_stream.h): a follower behind by many lines catches up in a few writes.
  asio::awaitable<bool> Send(const std::vector<SharedLogEvent>& events) {
    std::string frames;
    int64_t last_in_frames = last_sent_;
    std::size_t next = 0;
    while (next < events.size()) {
      if (follow_.batch) {
        next = AppendBatchFrame(frames, events, next);
      } else {
        AppendTextFrame(frames, *events[next].json);
        ++next;
      }
      last_in_frames = events[next - 1].sequence;
      if (frames.size() >= kWriteBytes || next == events.size()) {
        // Once Beast has begun closing (the client's close frame, a failed read) its close frame
        // is on its way, and nothing may follow it.
        if (!ws_.is_open()) {
          co_return false;
        }
        auto [ec, bytes] =
            co_await asio::async_write(ws_.next_layer(), asio::buffer(frames), kNoThrow);
        if (ec) {
          co_return false;
        }
        last_sent_ = last_in_frames;
        frames.clear();
      }
    }
    co_return true;
  }

  // Appends one batch frame, a JSON array of events[first...] up to max_frame_bytes (at least
  // one event), and returns the index of the first event left out.
  std::size_t AppendBatchFrame(std::string& frames, const std::vector<SharedLogEvent>& events,
                               std::size_t first) const {
    std::string batch = "[";
    std::size_t next = first;
    while (next < events.size()) {
      const std::string& json = *events[next].json;
      if (next > first && batch.size() + json.size() + 2 > context_.options.max_frame_bytes) {
        break;
      }
      if (next > first) {
        batch.push_back(',');
      }
      batch.append(json);
      ++next;
    }
    batch.push_back(']');
    AppendTextFrame(frames, batch);
    return next;
  }

  // Ends the connection with a close frame of `code` (unless the client already ended it).
  //
  // Not with Beast's async_close while the reader's read is pending: in Boost 1.81 a close that
  // has sent its frame waits for the read lock, while a read that meets a bad frame or the
  // client's close frame in bytes already received holds the read lock and waits for the write
  // lock to send its own close frame: both wait until the idle timeout (the fuzzer's
  // half-close finding). So the reader is stopped first; if it stopped between messages the
  // stream is intact and Beast closes it; if its read had to be cancelled the stream is unusable
  // for Beast, and the close frame is written here, then the connection torn down.
  asio::awaitable<void> Close(websocket::close_code code) {
    if (!state_.reader_done && !ws_.is_open()) {
      // The reader is failing or closing the connection itself (bad frame, client's close).
      co_await WaitForReader();
      co_return;
    }
    state_.stop_requested = true;
    while (!state_.reader_done) {
      // Repeated: a cancellation emitted between two steps of Beast's read reaches nothing.
      state_.stop_reading.emit(asio::cancellation_type::terminal);
      state_.wake_timer.expires_after(std::chrono::milliseconds(20));
      co_await state_.wake_timer.async_wait(kNoThrow);
    }
    if (!state_.read_error && ws_.is_open()) {
      // Stopped between messages: no read pending, so Beast's close handshake is safe.
      const websocket::close_reason reason(code);
      auto [ec] = co_await ws_.async_close(reason, kNoThrow);
      (void)ec;  // the connection is over either way
      co_return;
    }
    if (state_.read_error != asio::error::operation_aborted) {
      co_return;  // the client ended the connection while we stopped the reader
    }
    std::string frame;
    AppendCloseFrame(frame, static_cast<uint16_t>(code));
    co_await (TearDown(asio::buffer(frame)) || CloseSocketAfter(kCloseTimeout));
  }

  asio::awaitable<void> WaitForReader() {
    while (!state_.reader_done) {
      state_.wake_timer.expires_at(asio::steady_timer::time_point::max());
      co_await state_.wake_timer.async_wait(kNoThrow);
    }
  }

  // Writes the close frame, then shuts the connection down as Beast's teardown does (TCP: our
  // FIN, then the client's bytes until its FIN; TLS: close_notify both ways).
  asio::awaitable<void> TearDown(asio::const_buffer frame) {
    auto [write_error, bytes] =
        co_await asio::async_write(ws_.next_layer(), frame, kNoThrow);
    if (write_error) {
      co_return;
    }
    auto initiate = [this](auto handler) {
      // Found by ADL: exclusive_write_stream.h's, which asks the TCP or TLS stream under it.
      async_teardown(beast::role_type::server, ws_.next_layer(), std::move(handler));
    };
    auto token = kNoThrow;
    auto [ec] = co_await asio::async_initiate<decltype(token), void(beast::error_code)>(
        std::move(initiate), token);
    (void)ec;
  }

  asio::awaitable<void> CloseSocketAfter(std::chrono::steady_clock::duration timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(timeout);
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (!ec) {
      beast::error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
    }
  }

  websocket::stream<NextLayer>& ws_;
  FollowerState& state_;
  std::shared_ptr<LogSubscription> subscription_;
  FollowRequest follow_;
  FollowerContext context_;
  int64_t last_sent_;
};

}  // namespace

core::Result<FollowRequest> ParseFollowTarget(const std::string& target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid request target");
  }
  FollowRequest follow;
  std::string last_event_id;
  for (const auto& param : url->params()) {
    if (param.key == "execution_id") {
      follow.execution_id = param.value;
    } else if (param.key == "token") {
      follow.token = param.value;
    } else if (param.key == "last_event_id") {
      last_event_id = param.value;
    } else if (param.key == "batch") {
      follow.batch = param.value == "1" || param.value == "true";
    }
  }
  if (follow.execution_id.empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "execution_id is required");
  }
  if (follow.token.empty()) {
    return core::Fail(core::ErrorCode::kUnauthorized, "token is required");
  }
  if (!last_event_id.empty()) {
    const long long sequence = core::ParseEventId(last_event_id);
    if (sequence < 0) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid last_event_id",
                        "last_event_id must be an event_id");
    }
    follow.after_sequence = sequence;
  }
  return follow;
}

HttpResponse RefusalResponse(const core::Error& error) {
  boost::json::object body;
  body["error"] = error.message;
  body["code"] = core::ErrorCodeName(error.code);
  if (!error.details.empty()) {
    body["details"] = error.details;
  }
  HttpResponse response;
  response.status = StatusFor(error.code);
  response.SetHeader("Content-Type", "application/json");
  response.body = boost::json::serialize(body);
  return response;
}

template <class Connection>
asio::awaitable<void> ServeFollower(Connection connection, http::request<http::empty_body> request,
                                    FollowRequest follow, FollowerContext context) {
  using Layer = ExclusiveWriteStream<Connection>;
  websocket::stream<Layer> ws(std::move(connection));
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(30);
  // Beast pings after half the idle timeout without traffic and drops a peer silent for all of it.
  timeouts.idle_timeout = 2 * context.options.ping_interval;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "runvoy"); }));
  {
    auto [ec] = co_await ws.async_accept(request, kNoThrow);
    if (ec) {
      co_return;
    }
  }
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<FollowerState>(executor);
  std::weak_ptr<FollowerState> weak_state = state;
  auto subscription = context.hub.Subscribe(follow.execution_id, [executor, weak_state] {
    asio::post(executor, [weak_state] {
      if (auto strong = weak_state.lock()) {
        strong->wake_timer.cancel();
      }
    });
  });
  if (!context.registry.Add(subscription)) {
    subscription->GoAway();
  }
  Writer<Layer> writer(ws, *state, subscription, std::move(follow), context);
  co_await (ReadLoop(ws, *state) && writer.Run());
  context.registry.Remove(subscription);
  context.hub.Unsubscribe(subscription);
}

template asio::awaitable<void> ServeFollower<beast::tcp_stream>(beast::tcp_stream,
                                                                http::request<http::empty_body>,
                                                                FollowRequest, FollowerContext);
template asio::awaitable<void> ServeFollower<beast::ssl_stream<beast::tcp_stream>>(
    beast::ssl_stream<beast::tcp_stream>, http::request<http::empty_body>, FollowRequest,
    FollowerContext);

}  // namespace runvoy::server
