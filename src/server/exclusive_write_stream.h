#pragma once

// Internal to the live-log follower: the layer between Beast's WebSocket stream and the
// connection's TCP or TLS stream that lets the follower write many ready-made frames at once.
//
// Beast writes one message per async_write, so a follower writing one frame per log line pays a
// write (and a system call) per line. The follower instead writes its queued lines' frames in
// one gather write, straight to this layer. That is only sound if those bytes can never land in
// the middle of a frame Beast writes at the same time (a pong answering the client's ping, a
// keep-alive ping, a close frame). Here every async_write_some writes all of its buffers, and a
// write waits until the one under way has finished, so each frame — Beast's or the follower's —
// reaches the socket whole.

#include <cstddef>
#include <utility>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace runvoy::server {

// Used from one strand only (the connection's), like the stream it wraps.
template <class Inner>
class ExclusiveWriteStream {
 public:
  using executor_type = typename Inner::executor_type;

  explicit ExclusiveWriteStream(Inner inner)
      : inner_(std::move(inner)), turn_(inner_.get_executor()) {
    turn_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  // Pending writes refer to this object.
  ExclusiveWriteStream(const ExclusiveWriteStream&) = delete;
  ExclusiveWriteStream& operator=(const ExclusiveWriteStream&) = delete;

  executor_type get_executor() noexcept { return inner_.get_executor(); }
  Inner& next_layer() noexcept { return inner_; }
  const Inner& next_layer() const noexcept { return inner_; }

  template <class MutableBuffers, class ReadToken>
  auto async_read_some(const MutableBuffers& buffers, ReadToken&& token) {
    return inner_.async_read_some(buffers, std::forward<ReadToken>(token));
  }

  // Completes once all of `buffers` is written (or the write failed), after the write that was
  // under way when it began.
  template <class ConstBuffers, class WriteToken>
  auto async_write_some(const ConstBuffers& buffers, WriteToken&& token) {
    return boost::asio::async_compose<WriteToken, void(boost::beast::error_code, std::size_t)>(
        WholeWrite<ConstBuffers>{*this, buffers}, token, inner_);
  }

 private:
  template <class ConstBuffers>
  struct WholeWrite {
    ExclusiveWriteStream& stream;
    ConstBuffers buffers;
    bool writing = false;  // this write holds the stream

    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec = {}, std::size_t bytes = 0) {
      if (writing) {
        stream.busy_ = false;
        stream.turn_.cancel();  // wakes the writes waiting for their turn
        self.complete(ec, bytes);
        return;
      }
      if (self.cancelled() != boost::asio::cancellation_type::none) {
        self.complete(boost::asio::error::operation_aborted, 0);
        return;
      }
      if (stream.busy_) {
        stream.turn_.async_wait(std::move(self));
        return;
      }
      stream.busy_ = true;
      writing = true;
      // Not cancellable once begun: a frame cut short would corrupt every byte after it.
      boost::asio::async_write(
          stream.inner_, buffers,
          boost::asio::bind_cancellation_slot(boost::asio::cancellation_slot(), std::move(self)));
    }
  };

  Inner inner_;
  boost::asio::steady_timer turn_;  // never expires; cancel() wakes whoever waits on it
  bool busy_ = false;               // a write is under way
};

// The WebSocket closing handshake's last step, done by the stream underneath (found by ADL from
// Beast's close and read operations).
template <class Inner, class TeardownHandler>
void async_teardown(boost::beast::role_type role, ExclusiveWriteStream<Inner>& stream,
                    TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace runvoy::server
