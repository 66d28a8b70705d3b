#include "server/log_hub.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/ids.h"
#include "server/http_transport.h"
#include "server/live_log_source.h"
#include "server/log_event_json.h"
#include "server/websocket_follower.h"

namespace runvoy::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

core::LogEvent Event(int64_t sequence, std::size_t padding = 0) {
  core::LogEvent event;
  event.sequence = sequence;
  event.timestamp_ms = 1700000000000 + sequence;
  event.stream = sequence % 3 == 0 ? core::LogStream::kStderr : core::LogStream::kStdout;
  event.message = "line " + std::to_string(sequence) + std::string(padding, '.');
  return event;
}

std::vector<core::LogEvent> Events(int64_t first, int64_t last, std::size_t padding = 0) {
  std::vector<core::LogEvent> events;
  for (int64_t sequence = first; sequence <= last; ++sequence) {
    events.push_back(Event(sequence, padding));
  }
  return events;
}

std::vector<int64_t> Range(int64_t first, int64_t last) {
  std::vector<int64_t> sequences;
  for (int64_t sequence = first; sequence <= last; ++sequence) {
    sequences.push_back(sequence);
  }
  return sequences;
}

// Polls `condition` until it holds or 120 s have passed (sanitizer builds are slow).
bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

// ---- The hub alone ----

TEST(LogEventJson, HasTheWireFields) {
  core::LogEvent event = Event(42);
  event.stream = core::LogStream::kStderr;
  const auto object = LogEventToJson(event);
  EXPECT_EQ(object.at("event_id").as_string(), core::FormatEventId(42));
  EXPECT_EQ(object.at("timestamp").as_int64(), 1700000000042);
  EXPECT_EQ(object.at("message").as_string(), "line 42");
  EXPECT_EQ(object.at("stream").as_string(), "stderr");
  EXPECT_FALSE(object.contains("partial"));

  event.partial = true;
  event.stream = core::LogStream::kRunvoy;
  const auto piece = boost::json::parse(SerializeLogEvent(event)).as_object();
  EXPECT_EQ(piece.at("partial").as_bool(), true);
  EXPECT_EQ(piece.at("stream").as_string(), "runvoy");
}

TEST(LogHub, FollowerGetsOnlyEventsPublishedAfterSubscribing) {
  LogHub hub;
  hub.OnEvents("exec", Events(1, 2));
  int wakes = 0;
  auto subscription = hub.Subscribe("exec", [&wakes] { ++wakes; });
  hub.OnEvents("exec", Events(3, 4));
  hub.OnEvents("other", Events(1, 9));
  hub.OnEvents("exec", Events(5, 5));
  EXPECT_EQ(wakes, 1);  // woken once until it takes

  LogDelivery delivery = subscription->Take();
  std::vector<int64_t> sequences;
  for (const auto& batch : delivery.events) {
    for (const auto& event : *batch) {
      sequences.push_back(event.sequence);
      EXPECT_EQ(*event.json, SerializeLogEvent(Event(event.sequence)));
    }
  }
  EXPECT_EQ(sequences, Range(3, 5));
  EXPECT_FALSE(delivery.finished);
  EXPECT_FALSE(delivery.overflowed);

  hub.OnEvents("exec", Events(6, 6));
  EXPECT_EQ(wakes, 2);
  hub.Unsubscribe(subscription);
}

TEST(LogHub, FinishReachesTheFollowerAfterItsEvents) {
  LogHub hub;
  auto subscription = hub.Subscribe("exec", [] {});
  hub.OnEvents("exec", Events(1, 3));
  hub.OnFinished("exec", core::ExecutionStatus::kFailed, 7);
  const LogDelivery delivery = subscription->Take();
  ASSERT_EQ(delivery.events.size(), 1u);
  EXPECT_EQ(delivery.events[0]->size(), 3u);
  ASSERT_TRUE(delivery.finished);
  EXPECT_EQ(delivery.finished->status, core::ExecutionStatus::kFailed);
  EXPECT_EQ(delivery.finished->exit_code, 7);
  hub.Unsubscribe(subscription);
}

TEST(LogHub, OverflowingQueueIsDroppedAndMarked) {
  LogHub hub(FollowerQueueLimits{1 << 20, 10});
  auto subscription = hub.Subscribe("exec", [] {});
  hub.OnEvents("exec", Events(1, 8));
  hub.OnEvents("exec", Events(9, 11));
  hub.OnEvents("exec", Events(12, 12));
  const LogDelivery delivery = subscription->Take();
  EXPECT_TRUE(delivery.overflowed);
  EXPECT_TRUE(delivery.events.empty());
  hub.Unsubscribe(subscription);
}

TEST(LogHub, ByteLimitAlsoOverflows) {
  LogHub hub(FollowerQueueLimits{4096, 50000});
  auto subscription = hub.Subscribe("exec", [] {});
  hub.OnEvents("exec", Events(1, 2, 3000));
  EXPECT_TRUE(subscription->Take().overflowed);
  hub.Unsubscribe(subscription);
}

TEST(LogHub, FanOutSerializesEachEventOnceForAThousandFollowers) {
  LogHub hub;
  std::vector<std::shared_ptr<LogSubscription>> subscriptions;
  for (int i = 0; i < 1000; ++i) {
    subscriptions.push_back(hub.Subscribe("exec", [] {}));
  }
  EXPECT_EQ(hub.FollowerCount("exec"), 1000u);
  hub.OnEvents("exec", Events(1, 5));
  const std::string* first_json = nullptr;
  for (const auto& subscription : subscriptions) {
    const LogDelivery delivery = subscription->Take();
    ASSERT_EQ(delivery.events.size(), 1u);
    ASSERT_EQ(delivery.events[0]->size(), 5u);
    const std::string* json = (*delivery.events[0])[0].json.get();
    if (first_json == nullptr) {
      first_json = json;
    }
    EXPECT_EQ(json, first_json);  // the same buffer, not a copy
  }
  for (const auto& subscription : subscriptions) {
    hub.Unsubscribe(subscription);
  }
  EXPECT_EQ(hub.FollowerCount("exec"), 0u);
}

TEST(LogHub, UnsubscribedFollowerIsNoLongerFed) {
  LogHub hub;
  int wakes = 0;
  auto subscription = hub.Subscribe("exec", [&wakes] { ++wakes; });
  hub.Unsubscribe(subscription);
  hub.OnEvents("exec", Events(1, 1));
  hub.OnFinished("exec", core::ExecutionStatus::kSucceeded, 0);
  EXPECT_EQ(wakes, 0);
  EXPECT_TRUE(subscription->Take().events.empty());
}

// ---- Followers over real WebSocket connections ----

// Stored log events per execution, as the store would hold them. Publishing stores first, then
// tells the hub, like the event processor.
class FakeLiveLogs : public LiveLogSource {
 public:
  void AddToken(const std::string& token, const std::string& execution_id) {
    std::scoped_lock lock(mutex_);
    tokens_[token] = execution_id;
  }
  void Publish(LogHub& hub, const std::string& execution_id, std::vector<core::LogEvent> events) {
    {
      std::scoped_lock lock(mutex_);
      auto& stored = events_[execution_id];
      stored.insert(stored.end(), events.begin(), events.end());
    }
    hub.OnEvents(execution_id, events);
  }
  void Finish(LogHub& hub, const std::string& execution_id, core::ExecutionStatus status,
              std::optional<int> exit_code) {
    {
      std::scoped_lock lock(mutex_);
      finished_[execution_id] = Finished{status, exit_code};
    }
    hub.OnFinished(execution_id, status, exit_code);
  }

  core::Result<void> Authorize(const std::string& execution_id, const std::string& token) override {
    std::scoped_lock lock(mutex_);
    const auto it = tokens_.find(token);
    if (it == tokens_.end()) {
      return core::Fail(core::ErrorCode::kInvalidApiKey, "invalid or expired token");
    }
    if (it->second != execution_id) {
      return core::Fail(core::ErrorCode::kForbidden, "token is for another execution");
    }
    return {};
  }
  core::Result<void> ReadAfter(const std::string& execution_id, int64_t after_sequence,
                               const std::function<bool(const core::LogEvent&)>& visit) override {
    std::vector<core::LogEvent> copy;
    {
      std::scoped_lock lock(mutex_);
      for (const auto& event : events_[execution_id]) {
        if (event.sequence > after_sequence) {
          copy.push_back(event);
        }
      }
    }
    for (const auto& event : copy) {
      if (!visit(event)) {
        break;
      }
    }
    return {};
  }
  core::Result<std::optional<Finished>> FinishedState(const std::string& execution_id) override {
    std::scoped_lock lock(mutex_);
    const auto it = finished_.find(execution_id);
    if (it == finished_.end()) {
      return std::optional<Finished>();
    }
    return std::optional<Finished>(it->second);
  }

 private:
  std::mutex mutex_;  // guards the members below
  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::vector<core::LogEvent>> events_;
  std::map<std::string, Finished> finished_;
};

class NotFoundHandler : public HttpHandler {
 public:
  HttpResponse Handle(HttpRequest) override {
    HttpResponse response;
    response.status = 404;
    return response;
  }
  HttpResponse HandleOversized(HttpRequest) override {
    HttpResponse response;
    response.status = 413;
    return response;
  }
};

// What a follower received until the server closed the connection.
struct Transcript {
  std::vector<int64_t> sequences;
  std::vector<boost::json::object> disconnects;
  int event_frames = 0;
  int array_frames = 0;
  std::size_t largest_frame = 0;
  int close_code = -1;
  bool malformed = false;
};

// A synchronous WebSocket client. Reads give up after 120 s instead of hanging the test.
class WsClient {
 public:
  WsClient(int port, const std::string& target, int receive_buffer = 0) : ws_(io_) {
    tcp::socket& socket = ws_.next_layer();
    socket.open(tcp::v4());
    if (receive_buffer > 0) {
      socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    }
    timeval timeout{120, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    socket.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    ws_.handshake(response_, "127.0.0.1", target, handshake_error_);
  }

  const beast::error_code& handshake_error() const { return handshake_error_; }
  const websocket::response_type& response() const { return response_; }

  // The next frame, or nullopt once the connection ended.
  std::optional<std::string> Next() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws_.read(buffer, ec);
    if (ec) {
      return std::nullopt;
    }
    return beast::buffers_to_string(buffer.data());
  }

  // Adds one frame to `transcript`; false once the connection ended.
  bool ReadInto(Transcript& transcript) {
    const std::optional<std::string> frame = Next();
    if (!frame) {
      transcript.close_code = ws_.reason().code;
      return false;
    }
    transcript.largest_frame = std::max(transcript.largest_frame, frame->size());
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(*frame, ec);
    if (ec) {
      transcript.malformed = true;
      return true;
    }
    const auto add_event = [&transcript](const boost::json::value& item) {
      const auto* object = item.if_object();
      if (object == nullptr || !object->contains("event_id") || !object->contains("message")) {
        transcript.malformed = true;
        return;
      }
      const long long sequence =
          core::ParseEventId(std::string(object->at("event_id").as_string()));
      const std::string message(object->at("message").as_string());
      const std::string expected = "line " + std::to_string(sequence);
      if (message.rfind(expected, 0) != 0 ||
          (message.size() > expected.size() && message[expected.size()] != '.')) {
        transcript.malformed = true;
      }
      transcript.sequences.push_back(sequence);
    };
    if (value.is_array()) {
      ++transcript.array_frames;
      for (const auto& item : value.as_array()) {
        add_event(item);
      }
    } else if (value.is_object() && value.as_object().contains("type")) {
      transcript.disconnects.push_back(value.as_object());
    } else {
      ++transcript.event_frames;
      add_event(value);
    }
    return true;
  }

  Transcript ReadToClose() {
    Transcript transcript;
    while (ReadInto(transcript)) {
    }
    return transcript;
  }

  void Close() {
    beast::error_code ec;
    ws_.close(websocket::close_code::normal, ec);
  }

 private:
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
  websocket::response_type response_;
  beast::error_code handshake_error_;
};

class LiveLogsTest : public ::testing::Test {
 protected:
  void Start(FollowerQueueLimits limits = {}, LiveLogOptions live = {}) {
    hub_ = std::make_unique<LogHub>(limits);
    HttpServerOptions options;
    options.live_logs = live;
    server_ = std::make_unique<HttpServer>(handler_, logs_, *hub_, options);
    auto port = server_->Start();
    ASSERT_TRUE(port.has_value()) << port.error().message;
    port_ = *port;
    logs_.AddToken("token-a", "exec-a");
    logs_.AddToken("token-b", "exec-b");
  }

  void TearDown() override {
    if (server_) {
      server_->Stop();
    }
  }

  static std::string Target(const std::string& query) { return "/api/v1/ws?" + query; }

  bool WaitForFollowers(const std::string& execution_id, std::size_t count) {
    return WaitFor([&] { return hub_->FollowerCount(execution_id) == count; });
  }

  NotFoundHandler handler_;
  FakeLiveLogs logs_;
  std::unique_ptr<LogHub> hub_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(LiveLogsTest, RefusedUpgradesAnswerWithStatusAndJsonError) {
  Start();
  struct Case {
    std::string query;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"token=token-a", 400, "INVALID_REQUEST"},
      {"execution_id=exec-a", 401, "UNAUTHORIZED"},
      {"execution_id=exec-a&token=nope", 401, "INVALID_API_KEY"},
      {"execution_id=exec-a&token=token-b", 403, "FORBIDDEN"},
      {"execution_id=exec-a&token=token-a&last_event_id=abc", 400, "INVALID_REQUEST"},
  };
  for (const Case& c : cases) {
    WsClient client(port_, Target(c.query));
    EXPECT_EQ(client.handshake_error(), websocket::error::upgrade_declined) << c.query;
    EXPECT_EQ(client.response().result_int(), c.status) << c.query;
    EXPECT_EQ(client.response()[http::field::content_type], "application/json");
    const auto body = boost::json::parse(client.response().body()).as_object();
    EXPECT_EQ(body.at("code").as_string(), c.code) << c.query;
    EXPECT_FALSE(body.at("error").as_string().empty());
  }
  EXPECT_EQ(hub_->FollowerCount("exec-a"), 0u);
}

TEST_F(LiveLogsTest, SendsBacklogThenLiveEventsThenDisconnectAndNormalClose) {
  Start();
  logs_.Publish(*hub_, "exec-a", Events(1, 3));
  WsClient client(port_, Target("execution_id=exec-a&token=token-a"));
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  Transcript transcript;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.ReadInto(transcript));
  }
  EXPECT_EQ(transcript.sequences, Range(1, 3));
  ASSERT_TRUE(WaitForFollowers("exec-a", 1));

  logs_.Publish(*hub_, "exec-a", Events(4, 5));
  logs_.Publish(*hub_, "exec-b", Events(1, 5));  // another execution: not sent here
  logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kSucceeded, 0);
  while (client.ReadInto(transcript)) {
  }
  EXPECT_EQ(transcript.sequences, Range(1, 5));
  EXPECT_EQ(transcript.event_frames, 5);
  EXPECT_FALSE(transcript.malformed);
  ASSERT_EQ(transcript.disconnects.size(), 1u);
  EXPECT_EQ(
      boost::json::serialize(transcript.disconnects[0]),
      R"({"type":"disconnect","reason":"execution_completed","status":"SUCCEEDED","exit_code":0})");
  EXPECT_EQ(transcript.close_code, 1000);
  EXPECT_TRUE(WaitForFollowers("exec-a", 0));
}

TEST_F(LiveLogsTest, FinishedExecutionGetsBacklogAndDisconnectAtOnce) {
  Start();
  logs_.Publish(*hub_, "exec-a", Events(1, 4));
  logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kFailed, std::nullopt);
  WsClient client(
      port_, Target("execution_id=exec-a&token=token-a&last_event_id=" + core::FormatEventId(2)));
  ASSERT_FALSE(client.handshake_error());
  const Transcript transcript = client.ReadToClose();
  EXPECT_EQ(transcript.sequences, Range(3, 4));
  ASSERT_EQ(transcript.disconnects.size(), 1u);
  EXPECT_EQ(transcript.disconnects[0].at("status").as_string(), "FAILED");
  EXPECT_TRUE(transcript.disconnects[0].at("exit_code").is_null());
  EXPECT_EQ(transcript.close_code, 1000);
}

TEST_F(LiveLogsTest, ResumesFromLastEventIdWithoutGapOrDuplicateWhilePublishing) {
  Start();
  constexpr int64_t kTotal = 20000;
  std::jthread publisher([this] {
    for (int64_t first = 1; first <= kTotal; first += 10) {
      logs_.Publish(*hub_, "exec-a", Events(first, first + 9));
    }
    logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kSucceeded, 0);
  });

  Transcript first;
  {
    WsClient client(port_, Target("execution_id=exec-a&token=token-a"));
    ASSERT_FALSE(client.handshake_error());
    while (first.sequences.size() < 500 && client.ReadInto(first)) {
    }
    client.Close();
  }
  ASSERT_GE(first.sequences.size(), 500u);
  const int64_t resume_after = first.sequences.back();
  EXPECT_EQ(first.sequences, Range(1, resume_after));

  WsClient client(port_, Target("execution_id=exec-a&token=token-a&last_event_id=" +
                                core::FormatEventId(resume_after)));
  ASSERT_FALSE(client.handshake_error());
  const Transcript second = client.ReadToClose();
  EXPECT_EQ(second.sequences, Range(resume_after + 1, kTotal));
  EXPECT_FALSE(second.malformed);
  EXPECT_EQ(second.disconnects.size(), 1u);
  EXPECT_EQ(second.close_code, 1000);
}

TEST_F(LiveLogsTest, BatchModeSendsArraysOfEventsUnderTheFrameCap) {
  LiveLogOptions live;
  live.max_frame_bytes = 16 << 10;
  Start({}, live);
  logs_.Publish(*hub_, "exec-a", Events(1, 2500));
  WsClient client(port_, Target("execution_id=exec-a&token=token-a&batch=1"));
  ASSERT_FALSE(client.handshake_error());
  ASSERT_TRUE(WaitForFollowers("exec-a", 1));
  for (int64_t first = 2501; first <= 3000; first += 50) {
    logs_.Publish(*hub_, "exec-a", Events(first, first + 49));
  }
  logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kSucceeded, 0);
  const Transcript transcript = client.ReadToClose();
  EXPECT_EQ(transcript.sequences, Range(1, 3000));
  EXPECT_EQ(transcript.event_frames, 0);
  EXPECT_GT(transcript.array_frames, 1);
  EXPECT_LT(transcript.array_frames, 3000 / 10);
  EXPECT_LE(transcript.largest_frame, live.max_frame_bytes);
  EXPECT_FALSE(transcript.malformed);
  EXPECT_EQ(transcript.disconnects.size(), 1u);
  EXPECT_EQ(transcript.close_code, 1000);
}

TEST_F(LiveLogsTest, SlowFollowerIsClosedWith1013WhileFastFollowerGetsEverything) {
  Start(FollowerQueueLimits{256 << 10, 50000});
  WsClient slow(port_, Target("execution_id=exec-a&token=token-a"), 4096);
  ASSERT_FALSE(slow.handshake_error());
  std::atomic<int64_t> fast_last{0};
  std::atomic<int> fast_close{-1};
  Transcript fast_transcript;
  std::jthread fast_reader([&] {
    WsClient fast(port_, Target("execution_id=exec-a&token=token-a"));
    if (fast.handshake_error()) {
      return;
    }
    while (fast.ReadInto(fast_transcript)) {
      if (!fast_transcript.sequences.empty()) {
        fast_last = fast_transcript.sequences.back();
      }
    }
    fast_close = fast_transcript.close_code;
  });
  ASSERT_TRUE(WaitForFollowers("exec-a", 2));

  // 12 MB of output, paced by the fast follower only: the slow one stops reading.
  constexpr int64_t kTotal = 6000;
  for (int64_t first = 1; first <= kTotal; first += 10) {
    logs_.Publish(*hub_, "exec-a", Events(first, first + 9, 2000));
    ASSERT_TRUE(WaitFor([&] { return fast_last >= first + 9 - 40; }))
        << "fast follower at " << fast_last << " of " << first + 9 << ", close code " << fast_close;
  }
  logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kSucceeded, 0);
  fast_reader.join();
  EXPECT_EQ(fast_transcript.sequences, Range(1, kTotal));
  EXPECT_EQ(fast_transcript.disconnects.size(), 1u);
  EXPECT_EQ(fast_transcript.close_code, 1000);

  const Transcript slow_transcript = slow.ReadToClose();
  EXPECT_EQ(slow_transcript.close_code, 1013);
  EXPECT_TRUE(slow_transcript.disconnects.empty());
  ASSERT_FALSE(slow_transcript.sequences.empty());
  EXPECT_LT(slow_transcript.sequences.back(), kTotal);
  EXPECT_EQ(slow_transcript.sequences, Range(1, slow_transcript.sequences.back()));
}

TEST_F(LiveLogsTest, TwoHundredFollowersOfOneExecutionReceiveEverythingInOrder) {
  Start();
  logs_.Publish(*hub_, "exec-a", Events(1, 100));
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(
        std::make_unique<WsClient>(port_, Target("execution_id=exec-a&token=token-a")));
    ASSERT_FALSE(clients.back()->handshake_error()) << i;
  }
  ASSERT_TRUE(WaitForFollowers("exec-a", 200));
  for (int64_t first = 101; first <= 500; first += 20) {
    logs_.Publish(*hub_, "exec-a", Events(first, first + 19));
  }
  logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kFailed, 2);
  const std::vector<int64_t> expected = Range(1, 500);
  for (auto& client : clients) {
    const Transcript transcript = client->ReadToClose();
    ASSERT_EQ(transcript.sequences, expected);
    ASSERT_EQ(transcript.disconnects.size(), 1u);
    EXPECT_EQ(transcript.disconnects[0].at("status").as_string(), "FAILED");
    EXPECT_EQ(transcript.disconnects[0].at("exit_code").as_int64(), 2);
    EXPECT_EQ(transcript.close_code, 1000);
  }
}

TEST_F(LiveLogsTest, StopClosesFollowersWith1001) {
  Start();
  logs_.Publish(*hub_, "exec-a", Events(1, 1));
  WsClient client(port_, Target("execution_id=exec-a&token=token-a"));
  ASSERT_FALSE(client.handshake_error());
  Transcript transcript;
  ASSERT_TRUE(client.ReadInto(transcript));
  std::jthread stopper([this] { server_->Stop(); });
  while (client.ReadInto(transcript)) {
  }
  EXPECT_EQ(transcript.close_code, 1001);
  EXPECT_TRUE(transcript.disconnects.empty());
}


// ---- Clients that misbehave and go away ----

// A masked client frame with `first_byte` (FIN, RSV, opcode) and `payload` (mask key 0).
std::string ClientFrame(unsigned char first_byte, const std::string& payload) {
  std::string frame;
  frame.push_back(static_cast<char>(first_byte));
  frame.push_back(static_cast<char>(0x80 | payload.size()));  // payloads here are < 126 bytes
  frame.append(4, '\0');
  frame.append(payload);
  return frame;
}

// A client on a raw socket: sends the upgrade request and `after_upgrade` in one write, shuts
// its sending side down, then reads everything the server sends until the server closes.
struct RawExchange {
  std::string received;
  std::chrono::milliseconds until_closed{0};
  bool ended = false;  // the server closed the connection (not our 120 s receive timeout)
};

RawExchange SendAndHalfClose(int port, const std::string& target,
                             const std::string& after_upgrade) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  timeval timeout{120, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string upgrade = "GET " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: "
                              "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  asio::write(socket, asio::buffer(upgrade));
  // A client sends frames only once it has the server's answer (RFC 6455 4.1).
  std::string answer;
  asio::read_until(socket, asio::dynamic_buffer(answer), "\r\n\r\n");
  // The server may have closed already (it refuses a bad frame at once): errors are expected.
  boost::system::error_code ignored;
  asio::write(socket, asio::buffer(after_upgrade), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  const auto start = std::chrono::steady_clock::now();
  RawExchange exchange;
  exchange.received = std::move(answer);
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::recv(socket.native_handle(), buffer, sizeof buffer, 0);
    if (got > 0) {
      exchange.received.append(buffer, static_cast<std::size_t>(got));
      continue;
    }
    exchange.ended = got == 0 || errno == ECONNRESET;
    break;
  }
  exchange.until_closed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return exchange;
}

// The fuzzer's hang (fuzz/corpus/websocket/timeout-after-half-close): a client that sends some
// messages, part of a fragmented message and a frame the server must refuse (or its close
// frame), then half-closes, while the server sends the end of a finished execution and starts
// its own close. Beast's close and a read failing the connection on buffered bytes used to
// wait for each other until the idle timeout; the follower must end at once, whatever the
// timing, and leave no follower behind.
TEST_F(LiveLogsTest, ClientThatHalfClosesMidMessageEndsTheFollowerPromptly) {
  LiveLogOptions live;
  live.ping_interval = std::chrono::minutes(5);  // idle timeout 10 min: "promptly" is far below
  Start({}, live);
  // A backlog long enough that the server's reader works through the client's messages while
  // the writer is still sending it.
  logs_.Publish(*hub_, "exec-a", Events(1, 2000));
  logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kFailed, 3);
  const std::string fragment = ClientFrame(0x01, "frag");  // text, not final
  const std::vector<std::pair<std::string, std::string>> endings = {
      {"illegal opcode", fragment + ClientFrame(0x83, "")},
      {"close frame", fragment + ClientFrame(0x88, std::string("\x03\xe8", 2))},
      {"continuation cut short", fragment + std::string("\x80\x84\0\0", 4)},
      {"nothing more", fragment},
  };
  for (const auto& [name, ending] : endings) {
    // The more messages before the ending, the later the server's reader meets it: from before
    // the writer has read the backlog to after its close frame.
    for (int messages = 0; messages <= 3000; messages += 60) {
      std::string bytes;
      for (int i = 0; i < messages; ++i) {
        bytes += ClientFrame(0x81, "hello " + std::to_string(i));
      }
      bytes += ending;
      const RawExchange exchange =
          SendAndHalfClose(port_, Target("execution_id=exec-a&token=token-a"), bytes);
      ASSERT_TRUE(exchange.ended) << name << ", " << messages << " messages before";
      EXPECT_LT(exchange.until_closed, 20s) << name << ", " << messages << " messages before";
      EXPECT_EQ(exchange.received.rfind("HTTP/1.1 101", 0), 0u) << name;
    }
  }
  EXPECT_TRUE(WaitForFollowers("exec-a", 0));
}

// A client of a running execution that half-closes mid-message: the follower ends at once
// (its peer will never send its part of a close handshake) instead of waiting for events.
TEST_F(LiveLogsTest, HalfClosedClientOfARunningExecutionEndsTheFollowerPromptly) {
  LiveLogOptions live;
  live.ping_interval = std::chrono::minutes(5);
  Start({}, live);
  logs_.Publish(*hub_, "exec-a", Events(1, 2));
  for (int round = 0; round < 20; ++round) {
    const RawExchange exchange = SendAndHalfClose(
        port_, Target("execution_id=exec-a&token=token-a"), ClientFrame(0x01, "frag"));
    ASSERT_TRUE(exchange.ended) << round;
    EXPECT_LT(exchange.until_closed, 20s) << round;
  }
  EXPECT_TRUE(WaitForFollowers("exec-a", 0));
  // Live events still reach a well-behaved follower afterwards.
  WsClient client(port_, Target("execution_id=exec-a&token=token-a"));
  ASSERT_FALSE(client.handshake_error());
  ASSERT_TRUE(WaitForFollowers("exec-a", 1));
  logs_.Publish(*hub_, "exec-a", Events(3, 4));
  logs_.Finish(*hub_, "exec-a", core::ExecutionStatus::kSucceeded, 0);
  const Transcript transcript = client.ReadToClose();
  EXPECT_EQ(transcript.sequences, Range(1, 4));
  EXPECT_EQ(transcript.close_code, 1000);
}


// The same through ServeFollower itself, as the fuzzer found it: the client's frames (two
// messages, part of a third, then a frame the server must refuse) are all in the server's socket
// buffer and the client has half-closed before the follower of a finished execution starts, so
// the writer's close and the reader meeting the bad frame run into each other on most timings.
TEST(WebSocketFollower, EndsAtOnceWhenTheClientHalfClosedAfterBufferedFrames) {
  FakeLiveLogs logs;
  logs.Publish(*std::make_unique<LogHub>(), "exec-a", Events(1, 2));
  LogHub unused_hub;
  logs.Finish(unused_hub, "exec-a", core::ExecutionStatus::kFailed, 3);
  asio::thread_pool pool(1);
  const std::string messages = ClientFrame(0x01, "frag") + ClientFrame(0x80, "ment") +
                               ClientFrame(0x82, "ab") + ClientFrame(0x81, "hello!");
  const std::string ending = ClientFrame(0x01, "par") + ClientFrame(0x83, "");
  // The more messages before the ending, the later the reader meets it: the sweep moves it
  // across the writer's close.
  for (int round = 0; round < 1200; ++round) {
    std::string client_bytes;
    for (int i = 0; i < round % 400; ++i) {
      client_bytes += messages;
    }
    client_bytes += ending;
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    asio::write(client, asio::buffer(client_bytes));
    client.shutdown(tcp::socket::shutdown_send);

    http::request<http::empty_body> upgrade{http::verb::get, "/api/v1/ws?execution_id=exec-a",
                                            11};
    upgrade.set(http::field::host, "127.0.0.1");
    upgrade.set(http::field::upgrade, "websocket");
    upgrade.set(http::field::connection, "Upgrade");
    upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    upgrade.set(http::field::sec_websocket_version, "13");
    LogHub hub;
    FollowerRegistry registry;
    LiveLogOptions options;
    options.ping_interval = std::chrono::minutes(5);
    FollowerContext context{logs, hub, pool, registry, options};
    FollowRequest follow{"exec-a", "token-a", 0, round % 2 == 1};
    bool done = false;
    asio::co_spawn(io,
                   ServeFollower(beast::tcp_stream(std::move(server)), std::move(upgrade),
                                 std::move(follow), context),
                   [&done](std::exception_ptr error) {
                     EXPECT_FALSE(error);
                     done = true;
                   });
    const auto start = std::chrono::steady_clock::now();
    while (!done && std::chrono::steady_clock::now() - start < 20s) {
      io.run_for(100ms);
    }
    ASSERT_TRUE(done) << "the follower still runs after 20 s, round " << round;
    EXPECT_EQ(hub.FollowerCount(), 0u);
    EXPECT_TRUE(registry.TakeAll().empty());
  }
}

}  // namespace
}  // namespace runvoy::server
