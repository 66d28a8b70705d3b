// The live-log WebSocket endpoint from the client's side: the follow target of the upgrade
// request (ParseFollowTarget, RefusalResponse), then the real follower (ServeFollower: Beast's
// accept, the server's read loop over the client's frames, the backlog and live writer) over an
// in-memory socket pair, with a stored backlog, optional live events and end from the hub, and
// client frames built from the input (opcode, flags, mask, payload, or raw bytes). The follower
// must end once the client's bytes run out, leave no follower behind, and send frames whose
// text is JSON.

#include <fuzzer/FuzzedDataProvider.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "server/log_hub.h"
#include "server/websocket_follower.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using runvoy::server::FollowRequest;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "websocket: %s\n", what.c_str());
  std::abort();
}

// The stored side of one execution: `backlog` events, finished or not.
class FakeSource final : public runvoy::server::LiveLogSource {
 public:
  FakeSource(int backlog, std::optional<Finished> finished)
      : backlog_(backlog), finished_(finished) {}
  runvoy::core::Result<void> Authorize(const std::string&, const std::string&) override {
    return {};
  }
  runvoy::core::Result<void> ReadAfter(
      const std::string&, int64_t after_sequence,
      const std::function<bool(const runvoy::core::LogEvent&)>& visit) override {
    for (int64_t sequence = after_sequence + 1; sequence <= backlog_; ++sequence) {
      runvoy::core::LogEvent event;
      event.sequence = sequence;
      event.timestamp_ms = 1'800'000'000'000 + sequence;
      event.message = "line " + std::to_string(sequence) + " \"quoted\" \xE2\x82\xAC";
      if (!visit(event)) break;
    }
    return {};
  }
  runvoy::core::Result<std::optional<Finished>> FinishedState(const std::string&) override {
    return finished_;
  }

 private:
  const int64_t backlog_;
  const std::optional<Finished> finished_;
};

// The client's bytes: frames as a client sends them (masked unless the input says otherwise)
// or raw bytes, as the input describes.
std::string ClientBytes(FuzzedDataProvider& provider) {
  std::string out;
  while (provider.remaining_bytes() > 0) {
    const auto kind = provider.ConsumeIntegral<uint8_t>();
    if ((kind & 0x80) != 0) {
      out += provider.ConsumeRandomLengthString(64);
      continue;
    }
    const std::string payload = provider.ConsumeRandomLengthString(300);
    const bool fin = (kind & 0x10) == 0;
    const bool masked = (kind & 0x40) == 0;
    const bool rsv = (kind & 0x20) != 0;
    out.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv ? 0x40 : 0) | (kind & 0x0F)));
    const std::size_t length = payload.size();
    const char mask_bit = masked ? static_cast<char>(0x80) : 0;
    if (length < 126) {
      out.push_back(static_cast<char>(mask_bit | static_cast<char>(length)));
    } else {
      out.push_back(static_cast<char>(mask_bit | 126));
      out.push_back(static_cast<char>(length >> 8));
      out.push_back(static_cast<char>(length & 0xFF));
    }
    uint8_t key[4] = {0, 0, 0, 0};
    if (masked) {
      for (uint8_t& byte : key) byte = provider.ConsumeIntegral<uint8_t>();
      out.append(reinterpret_cast<const char*>(key), 4);
    }
    for (std::size_t i = 0; i < length; ++i) {
      out.push_back(static_cast<char>(payload[i] ^ static_cast<char>(key[i % 4])));
    }
  }
  return out;
}

// The frames the server sent after its 101 answer, checked: text frames are JSON.
void CheckServerOutput(const std::string& output) {
  if (output.rfind("HTTP/1.1 101", 0) != 0) Fail("no 101 answer: " + output.substr(0, 80));
  std::size_t at = output.find("\r\n\r\n");
  if (at == std::string::npos) Fail("unterminated 101 answer");
  at += 4;
  while (at + 2 <= output.size()) {
    const auto b0 = static_cast<unsigned char>(output[at]);
    const auto b1 = static_cast<unsigned char>(output[at + 1]);
    if ((b1 & 0x80) != 0) Fail("masked server frame");
    std::size_t length = b1 & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (at + 4 > output.size()) return;
      length = (static_cast<unsigned char>(output[at + 2]) << 8) |
               static_cast<unsigned char>(output[at + 3]);
      header = 4;
    } else if (length == 127) {
      if (at + 10 > output.size()) return;
      length = 0;
      for (int i = 0; i < 8; ++i) {
        length = (length << 8) | static_cast<unsigned char>(output[at + 2 + i]);
      }
      header = 10;
    }
    if (at + header + length > output.size()) return;  // cut short by the client going away
    if ((b0 & 0x0F) == 0x1) {
      boost::system::error_code ec;
      boost::json::parse(output.substr(at + header, length), ec);
      if (ec) Fail("text frame is not JSON: " + output.substr(at + header, length));
    }
    at += header + length;
  }
}

asio::thread_pool& Pool() {
  static asio::thread_pool pool(1);
  return pool;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::string target = provider.ConsumeRandomLengthString(200);
  auto parsed = runvoy::server::ParseFollowTarget(target);
  if (!parsed) {
    const auto refusal = runvoy::server::RefusalResponse(parsed.error());
    if (refusal.status < 400 || refusal.status > 599) Fail("refusal with a non-error status");
    boost::system::error_code ec;
    boost::json::parse(refusal.body, ec);
    if (ec) Fail("refusal body is not JSON: " + refusal.body);
  }
  FollowRequest follow = parsed ? *parsed : FollowRequest{"exec-1", "token", 0, false};
  const int backlog = provider.ConsumeIntegralInRange(0, 6);
  std::optional<runvoy::server::LiveLogSource::Finished> finished;
  if (provider.ConsumeBool()) {
    finished = runvoy::server::LiveLogSource::Finished{runvoy::core::ExecutionStatus::kFailed, 3};
  }
  const int live = provider.ConsumeIntegralInRange(0, 3);
  const bool live_end = provider.ConsumeBool();
  const std::string client = ClientBytes(provider);

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) Fail("socketpair");
  // The whole input fits in the socket buffer: the client has spoken and hung up before the
  // server reads anything.
  for (std::size_t at = 0; at < client.size();) {
    const ssize_t written = ::write(fds[1], client.data() + at, client.size() - at);
    if (written <= 0) Fail("write");
    at += static_cast<std::size_t>(written);
  }
  ::shutdown(fds[1], SHUT_WR);

  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.assign(asio::ip::tcp::v4(), fds[0], ec);
  if (ec) Fail("assign: " + ec.message());
  beast::tcp_stream connection(std::move(socket));

  http::request<http::empty_body> upgrade{http::verb::get, "/api/v1/ws?execution_id=exec-1", 11};
  upgrade.set(http::field::host, "127.0.0.1");
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");

  FakeSource source(backlog, finished);
  runvoy::server::LogHub hub;
  runvoy::server::FollowerRegistry registry;
  runvoy::server::FollowerContext context{source, hub, Pool(), registry, {}};
  const std::string execution_id = follow.execution_id;
  bool done = false;
  asio::co_spawn(io,
                 runvoy::server::ServeFollower(std::move(connection), std::move(upgrade),
                                               std::move(follow), context),
                 [&done](std::exception_ptr error) {
                   if (error) Fail("the follower threw");
                   done = true;
                 });
  asio::post(io, [&hub, execution_id, backlog, live, live_end] {
    std::vector<runvoy::core::LogEvent> events;
    for (int i = 1; i <= live; ++i) {
      runvoy::core::LogEvent event;
      event.sequence = backlog + i;
      event.message = "live";
      events.push_back(event);
    }
    if (!events.empty()) hub.OnEvents(execution_id, events);
    if (live_end) hub.OnFinished(execution_id, runvoy::core::ExecutionStatus::kSucceeded, 0);
  });
  io.run();
  if (!done) Fail("the follower did not finish");
  if (hub.FollowerCount() != 0) Fail("a follower was left subscribed");
  if (!registry.TakeAll().empty()) Fail("a follower was left registered");

  std::string output;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::recv(fds[1], buffer, sizeof buffer, MSG_DONTWAIT);
    if (got <= 0) break;
    output.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fds[1]);
  CheckServerOutput(output);
  return 0;
}
