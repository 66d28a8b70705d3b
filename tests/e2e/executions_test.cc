// Executions through the real CLI, API and WebSocket (SPEC.md §2.2–2.4), on every compute
// backend this machine can run: the local sandbox on the host system and Docker.

#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/docker_services.h"
#include "support/oci_image_builder.h"
#include "support/runvoy_server.h"
#include "support/websocket_client.h"

namespace runvoy::testing {
namespace {

// A compute backend the execution suite runs against: a server configuration plus the image
// its runs use.
struct Backend {
  std::string name;
};

void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

// One server per backend, started on first use and shared by the backend's tests.
class ExecutionsTest : public ::testing::TestWithParam<Backend> {
 protected:
  struct Server {
    std::unique_ptr<RunvoyServer> server;
    std::string developer;
  };

  static void TearDownTestSuite() { servers_.clear(); }

  void SetUp() override { UseBackend(GetParam()); }

  void UseBackend(const Backend& backend) {
    auto& entry = servers_[backend.name];
    if (entry.server == nullptr) {
      const std::string config = MakeTempDir("runvoy-exec") + "/server.yaml";
      std::ofstream out(config);
      out << "executions:\n  output_cap_bytes: 8MiB\n  kill_grace: 2s\n";
      std::string image_body;
      if (backend.name == "local-host") {
        image_body = R"({"image":"host","is_default":true})";
      } else if (backend.name == "docker") {
        const auto services = LoadDockerServices();
        if (!services) GTEST_SKIP() << "the docker_services fixture did not run (use ctest)";
        out << "compute:\n  provider: docker\n  docker:\n    host: " << services->host << "\n";
        image_body = R"({"image":")" + services->image + R"(","is_default":true,"memory":256})";
      }
      if (backend.name == "local-oci") {
        // The default local compute with a busybox image pushed to the loopback registry (the
        // oci_registry fixture), fetched by the first run and cached for the others.
        const std::string registry = OciRegistry();
        if (registry.empty()) GTEST_SKIP() << "the loopback OCI registry did not start";
        const auto busybox = BuildImage({MakeTar(BusyboxLayerEntries(), true)}, {});
        const auto pushed = PushImage(registry, "e2e/busybox", "1", busybox);
        ASSERT_TRUE(pushed.has_value()) << pushed.error().message;
        image_body = R"({"image":")" + registry + R"(/e2e/busybox:1","is_default":true})";
      }
      out.close();
      entry.server = std::make_unique<RunvoyServer>(std::vector<std::string>{"--config", config});
      const auto image = entry.server->Call("POST", "/api/v1/images/register",
                                            entry.server->admin_key(), image_body);
      ASSERT_EQ(image.status, 201) << image.body;
      entry.developer = entry.server->CreateUser("dev@example.com", "developer");
    }
    server_ = entry.server.get();
    developer_ = entry.developer;
  }

  static ProcessResult Run(const std::string& command, std::vector<std::string> flags = {}) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(command);
    return server_->Cli(args, developer_);
  }

  static std::string StartDetached(const std::string& command) {
    const auto started = server_->Cli({"run", "--detach", command}, developer_);
    EXPECT_EQ(started.exit_code, 0) << started.err;
    std::string id = started.out;
    id.erase(id.find_last_not_of("\n") + 1);
    return id;
  }

  static std::map<std::string, Server> servers_;
  static RunvoyServer* server_;
  static std::string developer_;
};

std::map<std::string, ExecutionsTest::Server> ExecutionsTest::servers_;
RunvoyServer* ExecutionsTest::server_ = nullptr;
std::string ExecutionsTest::developer_;

INSTANTIATE_TEST_SUITE_P(Backends, ExecutionsTest,
                         ::testing::Values(Backend{"local-host"}, Backend{"docker"},
                                           Backend{"local-oci"}),
                         BackendName);

// What only the local sandbox on the host's own system can show (host files, the host's
// process and user tables).
class HostExecutionsTest : public ExecutionsTest {
 protected:
  void SetUp() override { UseBackend(Backend{"local-host"}); }
};

TEST_P(ExecutionsTest, RunStreamsStdoutAndStderrApartAndExitsWithTheCommandsCode) {
  const auto result = Run("echo out1; echo err1 >&2; echo out2; exit 3");
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_EQ(result.out, "out1\nout2\n");
  EXPECT_NE(result.err.find("err1\n"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("### runvoy: command"), std::string::npos) << result.err;
  EXPECT_EQ(result.out.find("runvoy"), std::string::npos);
}

TEST_P(ExecutionsTest, ExitCodesMapToFinalStatuses) {
  struct Expect {
    std::string command;
    std::vector<std::string> flags;
    std::string status;
    int code;
  };
  const std::vector<Expect> cases = {
      {"true", {}, "SUCCEEDED", 0},
      {"exit 3", {}, "FAILED", 3},
      {"sleep 30", {"--run-timeout", "1s"}, "FAILED", 124},
      {"kill -9 $$", {}, "FAILED", 137},
  };
  for (const Expect& c : cases) {
    const auto result = Run(c.command, c.flags);
    EXPECT_EQ(result.exit_code, c.code) << c.command << ": " << result.err;
    const auto listed = server_->Call("GET", "/api/v1/executions?limit=1", developer_);
    ASSERT_TRUE(listed.json.is_array());
    EXPECT_EQ(listed.json.as_array()[0].at("status").as_string(), c.status) << c.command;
    EXPECT_EQ(listed.json.as_array()[0].at("exit_code").as_int64(), c.code) << c.command;
  }
}

TEST_P(ExecutionsTest, KillStopsARunningCommandWithStopped130) {
  const std::string id = StartDetached("trap '' TERM; echo started; sleep 60");
  for (int i = 0; i < 500; ++i) {
    auto logs = server_->Call("GET", "/api/v1/executions/" + id + "/logs", developer_);
    if (logs.body.find("started") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto killed = server_->Cli({"kill", id}, developer_);
  EXPECT_EQ(killed.exit_code, 0) << killed.err;
  const auto final_state = server_->WaitFinished(id, developer_);
  ASSERT_FALSE(final_state.is_null());
  EXPECT_EQ(final_state.at("status").as_string(), "STOPPED");
  EXPECT_EQ(final_state.at("exit_code").as_int64(), 130);
  const auto again = server_->Call("DELETE", "/api/v1/executions/" + id, developer_);
  EXPECT_EQ(again.status, 204);
  const auto followed = server_->Cli({"logs", "-f", id}, developer_);
  EXPECT_EQ(followed.exit_code, 130);
}

TEST_P(ExecutionsTest, FiftyConcurrentRunsAllFinishWithCompleteOutput) {
  std::vector<std::thread> threads;
  std::vector<ProcessResult> results(50);
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([i, &results] {
      results[i] = Run("seq 1 200; echo done-" + std::to_string(i));
    });
  }
  for (auto& thread : threads) thread.join();
  std::string expected;
  for (int n = 1; n <= 200; ++n) expected += std::to_string(n) + "\n";
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
    EXPECT_EQ(results[i].out, expected + "done-" + std::to_string(i) + "\n");
  }
}

TEST_F(HostExecutionsTest, CatOfAFileThroughRunReproducesItByteForByte) {
  const std::string file = "/usr/share/common-licenses/GPL-3";
  const auto result = Run("cat " + file);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, ReadFile(file));
}

TEST_P(ExecutionsTest, BinaryOutputIsReplacedNotDroppedAndALastLineWithoutNewlineIsKept) {
  const auto result = Run("printf 'ok\\n\\377\\376bad\\nno newline'");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "ok\n\xEF\xBF\xBD\xEF\xBF\xBD" "bad\nno newline\n");
}

TEST_P(ExecutionsTest, OutputOverTheCapIsDroppedWithANoticeWhileTheCommandGoesOn) {
  const auto before = ReadFile("/proc/" + std::to_string(server_->pid()) + "/status");
  const std::string id = StartDetached("head -c 200000000 /dev/zero | tr '\\0' 'x' | fold -w 1000; echo after");
  const auto final_state = server_->WaitFinished(id, developer_);
  ASSERT_FALSE(final_state.is_null());
  EXPECT_EQ(final_state.at("status").as_string(), "SUCCEEDED");
  const auto logs = server_->Call("GET", "/api/v1/executions/" + id + "/logs", developer_);
  ASSERT_EQ(logs.status, 200);
  EXPECT_NE(logs.body.find("output limit"), std::string::npos);
  EXPECT_LT(logs.body.size(), 12u * 1024 * 1024);
  const auto after = ReadFile("/proc/" + std::to_string(server_->pid()) + "/status");
  const auto rss = [](const std::string& status) {
    const auto at = status.find("VmRSS:");
    return std::stol(status.substr(at + 6));
  };
  EXPECT_LT(rss(after) - rss(before), 200 * 1024) << "server RSS grew by more than 200 MiB (kB)";
}

TEST_P(ExecutionsTest, ALateFollowerGetsTheBacklogThenLiveLinesThenTheEnd) {
  const std::string id = StartDetached("for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto followed = server_->Cli({"logs", "-f", id}, developer_);
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_EQ(followed.out, "line1\nline2\nline3\nline4\nline5\n");
}

TEST_P(ExecutionsTest, AFollowerThatReconnectsWithLastEventIdMissesNothingAndRepeatsNothing) {
  const auto run = server_->Call("POST", "/api/v1/run", developer_,
                                 R"({"command":"for i in $(seq 1 40); do echo n$i; sleep 0.02; done"})");
  ASSERT_EQ(run.status, 202) << run.body;
  const std::string url(run.json.at("websocket_url").as_string());
  std::vector<std::string> messages;
  std::string last_id;
  {
    WebSocketClient first(url);
    for (int i = 0; i < 10; ++i) {
      const auto frame = boost::json::parse(first.Read());
      messages.emplace_back(frame.at("message").as_string());
      last_id = std::string(frame.at("event_id").as_string());
    }
  }
  WebSocketClient second(url + "&last_event_id=" + last_id);
  while (true) {
    const auto frame = boost::json::parse(second.Read());
    if (frame.as_object().contains("type")) {
      EXPECT_EQ(frame.at("type").as_string(), "disconnect");
      EXPECT_EQ(frame.at("status").as_string(), "SUCCEEDED");
      break;
    }
    messages.emplace_back(frame.at("message").as_string());
  }
  std::vector<std::string> output;
  for (const std::string& message : messages) {
    if (message.rfind("###", 0) != 0) output.push_back(message);
  }
  ASSERT_EQ(output.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(output[i], "n" + std::to_string(i + 1));
}

TEST_P(ExecutionsTest, RefusedWebSocketUpgradesGetTheirStatus) {
  const auto run = server_->Call("POST", "/api/v1/run", developer_, R"({"command":"true"})");
  const std::string url(run.json.at("websocket_url").as_string());
  const std::string base = url.substr(0, url.find("?"));
  EXPECT_EQ(WebSocketClient::HandshakeStatus(base + "?token=abc"), 400);
  EXPECT_EQ(WebSocketClient::HandshakeStatus(
                base + "?execution_id=" + std::string(run.json.at("execution_id").as_string())),
            401);
  const auto other = server_->Call("POST", "/api/v1/run", developer_, R"({"command":"true"})");
  const std::string other_token = std::string(other.json.at("websocket_url").as_string())
                                      .substr(std::string(other.json.at("websocket_url").as_string()).find("&token="));
  EXPECT_EQ(WebSocketClient::HandshakeStatus(
                base + "?execution_id=" + std::string(run.json.at("execution_id").as_string()) +
                other_token),
            403);
}

TEST_P(ExecutionsTest, IdempotencyKeyReturnsTheFirstExecution) {
  const std::map<std::string, std::string> headers = {{"Idempotency-Key", "deploy-42"}};
  const auto first = server_->Call("POST", "/api/v1/run", developer_, R"({"command":"true"})", headers);
  const auto second = server_->Call("POST", "/api/v1/run", developer_, R"({"command":"true"})", headers);
  ASSERT_EQ(first.status, 202);
  ASSERT_EQ(second.status, 202);
  EXPECT_EQ(first.json.at("execution_id"), second.json.at("execution_id"));
}

TEST_F(HostExecutionsTest, TheSandboxHidesTheHost) {
  const auto result = Run(
      "echo procs=$(ls /proc | grep -c '^[0-9]'); ls /sys/class/net; id -un; "
      "test -e /root/.bashrc && echo root-visible; "
      "test -e " + server_->data_dir() + "/runvoy.db && echo data-visible; "
      "touch /usr/x 2>/dev/null && echo usr-writable; touch /workspace/ok /tmp/ok && echo writable");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("lo\n"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("eth"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("nobody"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("visible"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("usr-writable"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("writable"), std::string::npos) << result.out;
  const auto procs = std::stoi(result.out.substr(result.out.find("procs=") + 6));
  EXPECT_LT(procs, 8) << result.out;
}

TEST_P(ExecutionsTest, AServerKilledMidRunRecordsEveryLineAndTheStatusAfterRestart) {
  const std::string id = StartDetached("for i in $(seq 1 30); do echo k$i; sleep 0.05; done; exit 4");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server_->Kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  server_->Start();
  const auto final_state = server_->WaitFinished(id, developer_);
  ASSERT_FALSE(final_state.is_null());
  EXPECT_EQ(final_state.at("status").as_string(), "FAILED");
  EXPECT_EQ(final_state.at("exit_code").as_int64(), 4);
  const auto logs = server_->Cli({"logs", "--raw", id}, developer_);
  std::string expected;
  for (int i = 1; i <= 30; ++i) expected += "k" + std::to_string(i) + "\n";
  EXPECT_EQ(logs.out, expected) << logs.err;
}

}  // namespace
}  // namespace runvoy::testing
