#include "cli/log_follower.h"

#include <csignal>
#include <sstream>

#include <gtest/gtest.h>

#include "test_servers.h"
#include "test_support.h"

namespace runvoy::cli::testing {
namespace {

FollowOptions FastOptions() {
  FollowOptions options;
  options.poll_interval = std::chrono::milliseconds(1);
  options.handle_signals = false;
  return options;
}

std::string LogsBody(const std::vector<std::string>& events, const std::string& status,
                     const std::string& next_after = "") {
  std::string body = R"({"execution_id":"e1","status":")" + status + R"(","events":[)";
  for (size_t i = 0; i < events.size(); ++i)
    body += (i ? "," : "") + events[i];
  body += "]";
  if (!next_after.empty())
    body += R"(,"next_after":")" + next_after + "\"";
  return body + "}";
}

// Reads the upgrade request, records its target and accepts it.
websocket::stream<tcp::socket> Accept(tcp::socket& socket, Seen& targets) {
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::read(socket, buffer, request);
  targets.Add(std::string(request.target()));
  websocket::stream<tcp::socket> ws(std::move(socket));
  ws.accept(request);
  return ws;
}

void Send(websocket::stream<tcp::socket>& ws, const std::string& text) {
  ws.text(true);
  ws.write(asio::buffer(text));
}

struct Follow {
  FakeApi api;
  std::ostringstream out;
  std::ostringstream err;
  LogPrinter printer{out, err};
  Style style{false};

  core::Result<FollowOutcome> Run(const std::string& url, FollowOptions options = FastOptions()) {
    LogFollower follower(api, printer, err, style, std::move(options));
    return follower.Follow("e1", url);
  }
};

TEST(LogFollower, PollsFromTheLastEventUntilTheExecutionEnds) {
  Follow f;
  f.api.Reply("GET", "/executions/e1/logs", 200,
              LogsBody({EventJson(1, "one"), EventJson(2, "two", "stderr")}, "RUNNING"));
  f.api.Reply("GET", "/executions/e1/logs?after=000000000002", 200, LogsBody({}, "RUNNING"));
  f.api.Reply("GET", "/executions/e1/logs?after=000000000002", 200,
              LogsBody({EventJson(3, "three")}, "FAILED"));
  f.api.Reply("GET", "/executions/e1/status", 200,
              R"({"execution_id":"e1","status":"FAILED","exit_code":3})");
  auto outcome = f.Run("");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_FALSE(outcome->detached);
  EXPECT_EQ(outcome->exit_code, 3);
  EXPECT_EQ(outcome->status, "FAILED");
  EXPECT_EQ(f.out.str(), "one\nthree\n");
  EXPECT_EQ(f.err.str(), "two\n");
}

TEST(LogFollower, PollingFollowsPagesAndNeverPrintsTwice) {
  Follow f;
  f.api.Reply("GET", "/executions/e1/logs", 200,
              LogsBody({EventJson(1, "a"), EventJson(2, "b")}, "SUCCEEDED", EventId(2)));
  // A server that repeats the boundary event must not make the line appear twice.
  f.api.Reply("GET", "/executions/e1/logs?after=000000000002", 200,
              LogsBody({EventJson(2, "b"), EventJson(3, "c")}, "SUCCEEDED"));
  f.api.Reply("GET", "/executions/e1/status", 200, R"({"status":"SUCCEEDED","exit_code":0})");
  auto outcome = f.Run("");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->exit_code, 0);
  EXPECT_EQ(f.out.str(), "a\nb\nc\n");
}

TEST(LogFollower, WebSocketStreamsEventsAndEndsWithTheDisconnectExitCode) {
  Seen targets;
  TestServer server({[&](tcp::socket& socket) {
    auto ws = Accept(socket, targets);
    Send(ws, EventJson(1, "### runvoy: request r1", "runvoy"));
    Send(ws, EventJson(2, "par", "stdout", true));
    Send(ws, EventJson(3, "tial"));
    Send(ws, "[" + EventJson(4, "batched") + "," + EventJson(5, "oops", "stderr") + "]");
    Send(ws,
         R"({"type":"disconnect","reason":"execution_completed","status":"FAILED","exit_code":7})");
    ws.close(websocket::close_code::normal);
  }});
  Follow f;
  auto outcome = f.Run("ws://127.0.0.1:" + std::to_string(server.port()) +
                       "/api/v1/ws?execution_id=e1&token=tok");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->exit_code, 7);
  EXPECT_EQ(outcome->status, "FAILED");
  EXPECT_EQ(f.out.str(), "partial\nbatched\n");
  EXPECT_EQ(f.err.str(), "### runvoy: request r1\noops\n");
  EXPECT_EQ(targets.Items(), std::vector<std::string>{"/api/v1/ws?execution_id=e1&token=tok"});
  EXPECT_TRUE(f.api.calls.empty());
}

TEST(LogFollower, ReconnectsAfterADropFromTheLastPrintedEvent) {
  Seen targets;
  TestServer server(
      {[&](tcp::socket& socket) {
         auto ws = Accept(socket, targets);
         Send(ws, EventJson(1, "one"));
         Send(ws, EventJson(2, "two"));
         // Dropped without a close frame.
         ws.next_layer().close();
       },
       [&](tcp::socket& socket) {
         auto ws = Accept(socket, targets);
         // Replays from before the resume point: must not print twice.
         Send(ws, EventJson(2, "two"));
         Send(ws, EventJson(3, "three"));
         Send(
             ws,
             R"({"type":"disconnect","reason":"execution_completed","status":"SUCCEEDED","exit_code":0})");
         ws.close(websocket::close_code::normal);
       }});
  Follow f;
  const std::string url =
      "ws://127.0.0.1:" + std::to_string(server.port()) + "/api/v1/ws?execution_id=e1&token=t";
  auto outcome = f.Run(url);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->exit_code, 0);
  EXPECT_EQ(f.out.str(), "one\ntwo\nthree\n");
  const auto seen = targets.Items();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], "/api/v1/ws?execution_id=e1&token=t&last_event_id=000000000002");
}

TEST(LogFollower, RefusedTokenFallsBackToPolling) {
  TestServer server({[](tcp::socket& socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request);
    http::response<http::string_body> response{http::status::unauthorized, 11};
    response.body() = R"({"error":"invalid token","code":"UNAUTHORIZED"})";
    response.prepare_payload();
    http::write(socket, response);
  }});
  Follow f;
  f.api.Reply("GET", "/executions/e1/logs", 200, LogsBody({EventJson(1, "polled")}, "SUCCEEDED"));
  f.api.Reply("GET", "/executions/e1/status", 200, R"({"status":"SUCCEEDED","exit_code":0})");
  auto outcome = f.Run("ws://127.0.0.1:" + std::to_string(server.port()) + "/api/v1/ws?token=x");
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(f.out.str(), "polled\n");
  EXPECT_EQ(server.connections(), 1);
}

TEST(LogFollower, UnreachableWebSocketFallsBackToPolling) {
  Follow f;
  f.api.Reply("GET", "/executions/e1/logs", 200, LogsBody({EventJson(1, "x")}, "STOPPED"));
  f.api.Reply("GET", "/executions/e1/status", 200, R"({"status":"STOPPED","exit_code":130})");
  FollowOptions options = FastOptions();
  options.max_reconnects = 1;
  auto outcome = f.Run("ws://127.0.0.1:1/api/v1/ws?execution_id=e1&token=t", options);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(outcome->exit_code, 130);
  EXPECT_EQ(f.out.str(), "x\n");
}

TEST(LogFollower, LostServerIsAnError) {
  Follow f;
  f.api.Error("GET", "/executions/e1/logs",
              {core::ErrorCode::kServiceUnavailable, "cannot reach the runvoy server at x", {}});
  FollowOptions options = FastOptions();
  options.max_reconnects = 2;
  auto outcome = f.Run("", options);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, core::ErrorCode::kServiceUnavailable);
  EXPECT_EQ(f.api.calls.size(), 3u);
}

TEST(LogFollower, CtrlCWithoutATerminalDetaches) {
  Follow f;
  f.api.Reply("GET", "/executions/e1/logs", 200, LogsBody({EventJson(1, "x")}, "RUNNING"));
  f.api.on_send = [](const RecordedCall&) { std::raise(SIGINT); };
  FollowOptions options = FastOptions();
  options.handle_signals = true;
  options.poll_interval = std::chrono::seconds(30);  // only the interrupt can end the wait
  auto outcome = f.Run("", options);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_TRUE(outcome->detached);
  EXPECT_NE(f.err.str().find("runvoy logs -f e1"), std::string::npos);
}

TEST(LogFollower, CtrlCThenKillStopsTheExecutionAndKeepsFollowing) {
  Follow f;
  f.api.Reply("GET", "/executions/e1/logs", 200, LogsBody({EventJson(1, "x")}, "RUNNING"));
  f.api.Reply("GET", "/executions/e1/logs?after=000000000001", 200,
              LogsBody({EventJson(2, "terminated")}, "STOPPED"));
  f.api.Reply("DELETE", "/executions/e1", 200, R"({"execution_id":"e1","message":"stopping"})");
  f.api.Reply("GET", "/executions/e1/status", 200, R"({"status":"STOPPED","exit_code":130})");
  bool raised = false;
  f.api.on_send = [&](const RecordedCall&) {
    if (!raised)
      std::raise(SIGINT);
    raised = true;
  };
  FollowOptions options = FastOptions();
  options.handle_signals = true;
  options.poll_interval = std::chrono::seconds(30);
  int asked = 0;
  options.on_interrupt = [&] {
    ++asked;
    return InterruptChoice::kKill;
  };
  auto outcome = f.Run("", options);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().message;
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(outcome->detached);
  EXPECT_EQ(outcome->exit_code, 130);
  EXPECT_EQ(f.out.str(), "x\nterminated\n");
  ASSERT_GE(f.api.calls.size(), 3u);
  EXPECT_EQ(f.api.calls[1].method, "DELETE");
}

TEST(LogFollower, WebSocketUrlsAreParsedAndResumed) {
  auto target = ParseWebSocketUrl("wss://runvoy.example/api/v1/ws?execution_id=e&token=t", "");
  ASSERT_TRUE(target.has_value());
  EXPECT_TRUE(target->tls);
  EXPECT_EQ(target->host, "runvoy.example");
  EXPECT_EQ(target->port, "443");
  EXPECT_EQ(target->target, "/api/v1/ws?execution_id=e&token=t");
  target = ParseWebSocketUrl("ws://[::1]:8080/ws", "0007");
  ASSERT_TRUE(target.has_value());
  EXPECT_FALSE(target->tls);
  EXPECT_EQ(target->host, "::1");
  EXPECT_EQ(target->port, "8080");
  EXPECT_EQ(target->target, "/ws?last_event_id=0007");
  EXPECT_FALSE(ParseWebSocketUrl("ftp://x/y", "").has_value());
}

}  // namespace
}  // namespace runvoy::cli::testing
