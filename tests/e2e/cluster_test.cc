// Several runvoy servers on one PostgreSQL database (ARCHITECTURE.md "Nodes", SPEC.md §2.9): a
// run on one server is followed, listed and killed through another; keys and revocations hold
// everywhere at once; a database restart loses no line; two servers start at once on an empty
// database; a silent server's running execution is left alone until node_timeout, then taken
// over. The servers share their data directory, so the local sandbox's supervisors of one are
// reachable from the other, as a shared container runtime would be.

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/crypto.h"
#include "support/postgres.h"
#include "support/runvoy_server.h"
#include "support/websocket_client.h"

namespace runvoy::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// `count` numbered lines, `pause` seconds apart.
std::string NumberedLines(int count, const std::string& pause) {
  return "i=1; while [ $i -le " + std::to_string(count) + " ]; do echo line-$i; i=$((i+1)); sleep " +
         pause + "; done";
}

std::string ExpectedLines(int count) {
  std::string expected;
  for (int i = 1; i <= count; ++i) expected += "line-" + std::to_string(i) + "\n";
  return expected;
}

// The stdout messages of an execution's stored logs, one per line.
std::string StoredStdout(const RunvoyServer& server, const std::string& id,
                         const std::string& key) {
  const ApiResponse logs = server.Call("GET", "/api/v1/executions/" + id + "/logs", key);
  EXPECT_EQ(logs.status, 200) << logs.body;
  std::string out;
  if (logs.status != 200) return out;
  for (const auto& event : logs.json.at("events").as_array()) {
    if (event.at("stream").as_string() == "stdout") {
      out += std::string(event.at("message").as_string()) + "\n";
    }
  }
  return out;
}

// The node supervising an execution, from the execution list (the status JSON has no node).
std::string NodeOf(const RunvoyServer& server, const std::string& id, const std::string& key) {
  const ApiResponse listed = server.Call("GET", "/api/v1/executions?limit=100", key);
  EXPECT_EQ(listed.status, 200) << listed.body;
  if (listed.status != 200) return "";
  for (const auto& execution : listed.json.as_array()) {
    if (execution.at("execution_id").as_string() == id) {
      return std::string(execution.at("node").as_string());
    }
  }
  return "";
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_key_ = common::Base64Encode(common::RandomBytes(32));
    admin_key_ = "cluster-admin-" + common::Base64UrlEncode(common::RandomBytes(24));
    data_dir_ = MakeTempDir("runvoy-cluster-data");
  }

  // A server with node ID `node` on `dsn`, sharing this test's data directory.
  std::unique_ptr<RunvoyServer> StartNode(const std::string& node, const std::string& dsn,
                                          const std::string& node_timeout = "2m") {
    const std::string config = MakeTempDir("runvoy-cluster-" + node) + "/server.yaml";
    std::ofstream(config) << "node_id: " << node << "\nnode_timeout: " << node_timeout
                          << "\nexecutions:\n  kill_grace: 2s\n";
    return std::make_unique<RunvoyServer>(
        std::vector<std::string>{"--config", config, "--postgres-dsn", dsn},
        std::map<std::string, std::string>{{"RUNVOY_MASTER_KEY", master_key_},
                                           {"RUNVOY_SEED_ADMIN_KEY", admin_key_}},
        data_dir_);
  }

  // Creates a developer through `creator` and claims its key through `claimer`.
  static std::string CreateDeveloper(const RunvoyServer& creator, const RunvoyServer& claimer) {
    const ApiResponse created = creator.Call("POST", "/api/v1/users/create", creator.admin_key(),
                                             R"({"email":"dev@example.com","role":"developer"})");
    EXPECT_EQ(created.status, 201) << created.body;
    if (created.status != 201) return "";
    const std::string token(created.json.at("claim_token").as_string());
    const ApiResponse claimed = claimer.Call("GET", "/api/v1/claim/" + token, "");
    EXPECT_EQ(claimed.status, 200) << claimed.body;
    return claimed.status == 200 ? std::string(claimed.json.at("api_key").as_string()) : "";
  }

  static std::string StartDetached(const RunvoyServer& server, const std::string& key,
                                   const std::string& command) {
    const auto started = server.Cli({"run", "--detach", command}, key);
    EXPECT_EQ(started.exit_code, 0) << started.err;
    std::string id = started.out;
    id.erase(id.find_last_not_of('\n') + 1);
    return id;
  }

  // Waits until the execution's stored stdout holds `line`.
  static bool WaitForLine(const RunvoyServer& server, const std::string& key,
                          const std::string& id, const std::string& line) {
    const auto deadline = steady_clock::now() + seconds(60);
    while (steady_clock::now() < deadline) {
      if (StoredStdout(server, id, key).find(line + "\n") != std::string::npos) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  std::string master_key_;
  std::string admin_key_;
  std::string data_dir_;
};

TEST_F(ClusterTest, ARunOnOneServerIsFollowedListedAndKilledThroughAnother) {
  const std::string dsn = FreshPostgresDatabase();
  ASSERT_FALSE(dsn.empty());
  auto a = StartNode("node-a", dsn);
  auto b = StartNode("node-b", dsn);
  ASSERT_EQ(a->RegisterHostImage().status, 201);
  const std::string developer = CreateDeveloper(*a, *b);  // created on A, claimed on B
  ASSERT_FALSE(developer.empty());

  const std::string id = StartDetached(*a, developer, NumberedLines(300, "0.01"));
  const auto followed = b->Cli({"logs", "-f", id}, developer);
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  EXPECT_EQ(followed.out, ExpectedLines(300));
  const auto on_b = b->WaitFinished(id, developer);
  ASSERT_FALSE(on_b.is_null());
  EXPECT_EQ(NodeOf(*b, id, developer), "node-a");
  EXPECT_EQ(on_b.at("status").as_string(), "SUCCEEDED");
  for (const RunvoyServer* server : {a.get(), b.get()}) {
    const ApiResponse listed = server->Call("GET", "/api/v1/executions", developer);
    ASSERT_EQ(listed.status, 200);
    ASSERT_FALSE(listed.json.as_array().empty());
    EXPECT_EQ(listed.json.as_array()[0].at("execution_id").as_string(), id);
  }

  const std::string sleeper = StartDetached(*a, developer, "echo started; sleep 300");
  ASSERT_TRUE(WaitForLine(*b, developer, sleeper, "started"));
  const auto killed = b->Cli({"kill", sleeper}, developer);
  EXPECT_EQ(killed.exit_code, 0) << killed.err;
  const auto stopped = a->WaitFinished(sleeper, developer);
  ASSERT_FALSE(stopped.is_null());
  EXPECT_EQ(stopped.at("status").as_string(), "STOPPED");
  EXPECT_EQ(stopped.at("exit_code").as_int64(), 130);
}

TEST_F(ClusterTest, AFollowerOfAnotherServersRunResumesAfterADroppedConnectionWithoutGapOrRepeat) {
  const std::string dsn = FreshPostgresDatabase();
  ASSERT_FALSE(dsn.empty());
  auto a = StartNode("node-a", dsn);
  auto b = StartNode("node-b", dsn);
  ASSERT_EQ(a->RegisterHostImage().status, 201);
  const ApiResponse run =
      a->Call("POST", "/api/v1/run", a->admin_key(),
              boost::json::serialize(boost::json::object{{"command", NumberedLines(60, "0.03")}}));
  ASSERT_EQ(run.status, 202) << run.body;
  // The same WebSocket URL, on server B.
  const std::string url_on_a(run.json.at("websocket_url").as_string());
  const std::string path = url_on_a.substr(url_on_a.find("/api/"));
  const std::string url = "ws://" + b->base_url().substr(b->base_url().find("://") + 3) + path;

  std::vector<std::string> lines;
  std::string last_id;
  {
    WebSocketClient first(url);
    while (lines.size() < 15) {
      const auto frame = boost::json::parse(first.Read());
      ASSERT_FALSE(frame.as_object().contains("type")) << boost::json::serialize(frame);
      if (frame.at("stream").as_string() == "stdout") {
        lines.emplace_back(frame.at("message").as_string());
      }
      last_id = std::string(frame.at("event_id").as_string());
    }
  }  // dropped mid-run
  WebSocketClient second(url + "&last_event_id=" + last_id);
  while (true) {
    const auto frame = boost::json::parse(second.Read());
    if (frame.as_object().contains("type")) {
      EXPECT_EQ(frame.at("type").as_string(), "disconnect");
      EXPECT_EQ(frame.at("status").as_string(), "SUCCEEDED");
      break;
    }
    if (frame.at("stream").as_string() == "stdout") {
      lines.emplace_back(frame.at("message").as_string());
    }
  }
  std::string joined;
  for (const std::string& line : lines) joined += line + "\n";
  EXPECT_EQ(joined, ExpectedLines(60));
}

TEST_F(ClusterTest, AKeyRevokedOnOneServerIsRefusedByTheOtherAtOnce) {
  const std::string dsn = FreshPostgresDatabase();
  ASSERT_FALSE(dsn.empty());
  auto a = StartNode("node-a", dsn);
  auto b = StartNode("node-b", dsn);
  const std::string developer = CreateDeveloper(*b, *a);
  ASSERT_FALSE(developer.empty());
  EXPECT_EQ(a->Call("GET", "/api/v1/images", developer).status, 200);
  const ApiResponse revoked = b->Call("POST", "/api/v1/users/revoke", b->admin_key(),
                                      R"({"email":"dev@example.com"})");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  const ApiResponse refused = a->Call("GET", "/api/v1/images", developer);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.Code(), "API_KEY_REVOKED");
}

TEST_F(ClusterTest, TwoServersStartingAtOnceOnAnEmptyDatabaseBothServe) {
  const std::string dsn = FreshPostgresDatabase();
  ASSERT_FALSE(dsn.empty());
  std::unique_ptr<RunvoyServer> a;
  std::unique_ptr<RunvoyServer> b;
  std::thread start_a([&] { a = StartNode("node-a", dsn); });
  std::thread start_b([&] { b = StartNode("node-b", dsn); });
  start_a.join();
  start_b.join();
  ASSERT_EQ(a->RegisterHostImage().status, 201);
  for (const RunvoyServer* server : {a.get(), b.get()}) {
    const ApiResponse health = server->Call("GET", "/api/v1/health", "");
    EXPECT_EQ(health.status, 200) << health.body;
    EXPECT_EQ(health.json.at("store").as_string(), "postgres");
    const auto ran = server->Cli({"run", "echo hello from $(hostname)"}, server->admin_key());
    EXPECT_EQ(ran.exit_code, 0) << ran.err;
    EXPECT_EQ(ran.out, "hello from runvoy\n");
  }
}

TEST_F(ClusterTest, ADatabaseRestartDuringARunLosesNoLineAndRequestsMeanwhileGet503) {
  PostgresCluster cluster;
  ASSERT_FALSE(cluster.Dsn().empty());
  auto a = StartNode("node-a", cluster.Dsn());
  ASSERT_EQ(a->RegisterHostImage().status, 201);
  const std::string id = StartDetached(*a, a->admin_key(), NumberedLines(150, "0.02"));
  ASSERT_TRUE(WaitForLine(*a, a->admin_key(), id, "line-10"));

  ASSERT_TRUE(cluster.StopServer());
  const ApiResponse down = a->Call("GET", "/api/v1/executions", a->admin_key());
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(down.Code(), "DATABASE_ERROR");
  std::this_thread::sleep_for(seconds(2));  // the command keeps printing while the database is down
  ASSERT_TRUE(cluster.StartServer());

  const auto finished = a->WaitFinished(id, a->admin_key());
  ASSERT_FALSE(finished.is_null());
  EXPECT_EQ(finished.at("status").as_string(), "SUCCEEDED");
  EXPECT_EQ(StoredStdout(*a, id, a->admin_key()), ExpectedLines(150));
}

TEST_F(ClusterTest, ASilentServersExecutionIsLeftAloneUntilNodeTimeoutThenTakenOver) {
  const std::string dsn = FreshPostgresDatabase();
  ASSERT_FALSE(dsn.empty());
  auto a = StartNode("node-a", dsn, "4s");
  auto b = StartNode("node-b", dsn, "4s");
  ASSERT_EQ(a->RegisterHostImage().status, 201);
  const std::string id = StartDetached(*a, a->admin_key(), NumberedLines(120, "0.05"));
  ASSERT_TRUE(WaitForLine(*b, b->admin_key(), id, "line-5"));

  a->Kill();  // SIGKILL: its supervisor keeps the task running and its output
  const auto killed_at = steady_clock::now();
  // Within the timeout B must not touch it: still running, still node-a's.
  while (steady_clock::now() - killed_at < seconds(2)) {
    const ApiResponse status = b->Call("GET", "/api/v1/executions/" + id + "/status", b->admin_key());
    ASSERT_EQ(status.status, 200);
    EXPECT_EQ(status.json.at("status").as_string(), "RUNNING");
    EXPECT_EQ(NodeOf(*b, id, b->admin_key()), "node-a");
    std::this_thread::sleep_for(milliseconds(200));
  }
  const auto finished = b->WaitFinished(id, b->admin_key());
  ASSERT_FALSE(finished.is_null());
  EXPECT_EQ(finished.at("status").as_string(), "SUCCEEDED");
  EXPECT_EQ(NodeOf(*b, id, b->admin_key()), "node-b");
  EXPECT_EQ(StoredStdout(*b, id, b->admin_key()), ExpectedLines(120));
}

}  // namespace
}  // namespace runvoy::testing
