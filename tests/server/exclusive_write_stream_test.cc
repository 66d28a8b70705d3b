// The follower's own frames (websocket_frames.h) written through the layer under Beast
// (exclusive_write_stream.h), read by a Beast client over a real loopback connection.

#include "server/exclusive_write_stream.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "server/websocket_frames.h"

namespace runvoy::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
const std::string kEnd = "end";
const std::string kPingsSent = "pings sent";

using ServerStream = websocket::stream<ExclusiveWriteStream<beast::tcp_stream>>;

// A connected pair: a server stream (accepted) and a client stream (handshake done).
struct Connection {
  asio::io_context io;
  std::unique_ptr<ServerStream> server;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> client;

  Connection() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket client_socket(io);
    client_socket.connect(acceptor.local_endpoint());
    tcp::socket server_socket = acceptor.accept();
    server = std::make_unique<ServerStream>(beast::tcp_stream(std::move(server_socket)));
    client = std::make_unique<websocket::stream<beast::tcp_stream>>(
        beast::tcp_stream(std::move(client_socket)));
    bool accepted = false;
    server->async_accept([&accepted](beast::error_code ec) {
      EXPECT_FALSE(ec) << ec.message();
      accepted = true;
    });
    client->async_handshake("127.0.0.1", "/", [](beast::error_code ec) {
      EXPECT_FALSE(ec) << ec.message();
    });
    io.run();
    io.restart();
    EXPECT_TRUE(accepted);
  }

  // Runs every coroutine given to completion (or fails after 60 s).
  void Run() {
    io.run_for(60s);
    EXPECT_TRUE(io.stopped()) << "the exchange did not finish";
  }
};

void Spawn(asio::io_context& io, asio::awaitable<void> work) {
  asio::co_spawn(io, std::move(work), [](const std::exception_ptr& error) {
    EXPECT_FALSE(error) << "a coroutine threw";
  });
}

asio::awaitable<void> Sleep(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(duration);
  co_await timer.async_wait(kNoThrow);
}

// The server's reader: answers pings and the close handshake until the connection ends. Sets
// `pings_answered` on the client's message "pings sent": Beast has written the pong of every
// ping before it, since it reads on only once a pong is out.
asio::awaitable<void> ServerReads(ServerStream& server, bool& pings_answered) {
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, bytes] = co_await server.async_read(buffer, kNoThrow);
    if (ec) {
      co_return;
    }
    if (beast::buffers_to_string(buffer.data()) == kPingsSent) {
      pings_answered = true;
    }
    buffer.clear();
  }
}

// Writes `payloads` as text frames, `per_write` to a gather write, then (once `ready`) the frame
// "end".
asio::awaitable<void> ServerWrites(ServerStream& server, const std::vector<std::string>& payloads,
                                   std::size_t per_write, const bool& ready) {
  std::string frames;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    AppendTextFrame(frames, payloads[i]);
    if ((i + 1) % per_write == 0 || i + 1 == payloads.size()) {
      auto [ec, bytes] = co_await asio::async_write(server.next_layer(), asio::buffer(frames), kNoThrow);
      EXPECT_FALSE(ec) << ec.message();
      frames.clear();
    }
  }
  while (!ready) {
    co_await Sleep(1ms);
  }
  AppendTextFrame(frames, kEnd);
  auto [ec, bytes] = co_await asio::async_write(server.next_layer(), asio::buffer(frames), kNoThrow);
  EXPECT_FALSE(ec) << ec.message();
}

// Reads text frames until "end" into `received`, then closes normally.
asio::awaitable<void> ClientReads(websocket::stream<beast::tcp_stream>& client,
                                  std::vector<std::string>& received, const bool& pinger_done) {
  beast::flat_buffer buffer;
  for (;;) {
    auto [ec, bytes] = co_await client.async_read(buffer, kNoThrow);
    if (ec) {
      ADD_FAILURE() << "client read: " << ec.message();
      co_return;
    }
    EXPECT_TRUE(client.got_text());
    std::string text = beast::buffers_to_string(buffer.data());
    buffer.clear();
    if (text == kEnd) {
      break;
    }
    received.push_back(std::move(text));
  }
  // One write at a time on the client too: the close waits for the pinger.
  while (!pinger_done) {
    co_await Sleep(1ms);
  }
  auto [ec] = co_await client.async_close(websocket::close_code::normal, kNoThrow);
  EXPECT_FALSE(ec) << ec.message();
}

// Pings `count` times, then says so in a text message.
asio::awaitable<void> ClientPings(websocket::stream<beast::tcp_stream>& client, int count,
                                  bool& done) {
  for (int i = 0; i < count; ++i) {
    auto [ec] = co_await client.async_ping({}, kNoThrow);
    if (ec) {
      ADD_FAILURE() << "ping: " << ec.message();
      break;
    }
  }
  auto [ec, bytes] = co_await client.async_write(asio::buffer(kPingsSent), kNoThrow);
  EXPECT_FALSE(ec) << ec.message();
  done = true;
}

std::vector<std::string> Payloads(const std::vector<std::size_t>& sizes) {
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::string payload = std::to_string(i) + ":";
    payload.resize(sizes[i] < payload.size() ? payload.size() : sizes[i], 'x');
    payloads.push_back(std::move(payload));
  }
  return payloads;
}

TEST(WebSocketFrames, EveryPayloadLengthEncodingReadsBackWhole) {
  Connection connection;
  // Around the limits of the 7-bit, 16-bit and 64-bit length forms.
  const std::vector<std::string> payloads =
      Payloads({0, 1, 2, 125, 126, 127, 1000, 65535, 65536, 65537, 300000});
  std::vector<std::string> received;
  bool unused = false;
  const bool no_pinger = true;
  Spawn(connection.io, ServerReads(*connection.server, unused));
  Spawn(connection.io, ServerWrites(*connection.server, payloads, 3, no_pinger));
  Spawn(connection.io, ClientReads(*connection.client, received, no_pinger));
  connection.Run();
  EXPECT_EQ(received, payloads);
}

// The reason for the layer: Beast's pongs, answering the client's pings, are written while the
// server's large gather writes are only partly out (the client reads slower than the server
// writes). Every frame must still arrive whole and every ping be answered.
TEST(ExclusiveWriteStream, BeastsPongsNeverLandInsideTheFollowersFrames) {
  Connection connection;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < 4000; ++i) {
    sizes.push_back(100 + (i * 37) % 3000);
  }
  const std::vector<std::string> payloads = Payloads(sizes);
  constexpr int kPings = 3000;
  int pongs = 0;
  connection.client->control_callback([&pongs](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) {
      ++pongs;
    }
  });
  std::vector<std::string> received;
  bool pinger_done = false;
  bool pings_answered = false;
  Spawn(connection.io, ServerReads(*connection.server, pings_answered));
  Spawn(connection.io, ServerWrites(*connection.server, payloads, 200, pings_answered));
  Spawn(connection.io, ClientPings(*connection.client, kPings, pinger_done));
  Spawn(connection.io, ClientReads(*connection.client, received, pinger_done));
  connection.Run();
  EXPECT_EQ(received, payloads);
  EXPECT_EQ(pongs, kPings);
}

TEST(WebSocketFrames, CloseFrameCarriesTheCode) {
  Connection connection;
  std::string frame;
  AppendCloseFrame(frame, static_cast<uint16_t>(websocket::close_code::try_again_later));
  beast::tcp_stream& server_tcp = connection.server->next_layer().next_layer();
  asio::write(server_tcp, asio::buffer(frame));
  server_tcp.socket().shutdown(tcp::socket::shutdown_send);  // so that the client's teardown ends
  beast::flat_buffer buffer;
  beast::error_code ec;
  connection.client->read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(connection.client->reason().code, websocket::close_code::try_again_later);
}

}  // namespace
}  // namespace runvoy::server
