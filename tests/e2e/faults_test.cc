// Faults through the real server: SIGKILL under load (runs starting, followers attached) and a
// full data directory (a small tmpfs). Nothing acknowledged is lost or stuck, no line is lost or
// repeated, clients resume, and a full disk is a 503 that heals when space returns.

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/http_client.h"
#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using std::chrono::steady_clock;

template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::seconds limit = std::chrono::seconds(90)) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// A port that was free a moment ago, so that a restarted server comes back where its clients
// left it.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// What one WebSocket session of a follower saw.
struct Session {
  std::vector<std::string> stdout_lines;
  std::string last_event_id;
  bool disconnected = false;  // got the disconnect frame
  std::string status;
};

// Follows `url` until the disconnect frame or until the connection ends; reads time out after
// `idle` so that a silent server fails the test instead of hanging it.
Session Follow(const std::string& url, std::chrono::seconds idle = std::chrono::seconds(60)) {
  Session session;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    return session;
  asio::io_context io;
  beast::websocket::stream<asio::ip::tcp::socket> ws(io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  asio::connect(ws.next_layer(),
                resolver.resolve(std::string(parsed->host()), std::string(parsed->port()), ec), ec);
  if (ec)
    return session;
  const timeval timeout{static_cast<time_t>(idle.count()), 0};
  ::setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ws.handshake(std::string(parsed->host()) + ":" + std::string(parsed->port()),
               std::string(parsed->encoded_target()), ec);
  if (ec)
    return session;
  while (true) {
    beast::flat_buffer buffer;
    ws.read(buffer, ec);
    if (ec)
      return session;
    const json::value value = json::parse(beast::buffers_to_string(buffer.data()));
    const json::object& event = value.as_object();
    if (const auto* type = event.if_contains("type")) {
      session.disconnected = type->as_string() == "disconnect";
      if (const auto* status = event.if_contains("status")) {
        session.status = std::string(status->as_string());
      }
      return session;
    }
    session.last_event_id = std::string(event.at("event_id").as_string());
    if (event.at("stream").as_string() == "stdout") {
      session.stdout_lines.emplace_back(event.at("message").as_string());
    }
  }
}

std::vector<std::string> Numbered(const std::string& prefix, int count) {
  std::vector<std::string> lines;
  for (int i = 1; i <= count; ++i)
    lines.push_back(prefix + std::to_string(i));
  return lines;
}

std::string NumberedCommand(const std::string& prefix, int count, const std::string& pause) {
  return "for i in $(seq 1 " + std::to_string(count) + "); do echo " + prefix + "$i; sleep " +
         pause + "; done";
}

json::value LogsOf(const RunvoyServer& server, const std::string& id, const std::string& key) {
  const ApiResponse logs = server.Call("GET", "/api/v1/executions/" + id + "/logs", key);
  EXPECT_EQ(logs.status, 200) << logs.body;
  return logs.json;
}

std::vector<std::string> StoredLines(const json::value& logs, const std::string& stream) {
  std::vector<std::string> lines;
  if (!logs.is_object())
    return lines;
  for (const json::value& event : logs.at("events").as_array()) {
    if (event.at("stream").as_string() == stream)
      lines.emplace_back(event.at("message").as_string());
  }
  return lines;
}

std::string Sqlite(const std::string& db, const std::string& sql) {
  const ProcessResult result = RunProcess({"/usr/bin/sqlite3", "-cmd", ".timeout 20000", db, sql});
  EXPECT_EQ(result.exit_code, 0) << sql << ": " << result.err;
  return result.out;
}

bool IsFinal(const std::string& status) {
  return status == "SUCCEEDED" || status == "FAILED" || status == "STOPPED";
}

TEST(Faults, AServerKilledUnderLoadLosesNoExecutionAndNoLineAndItsClientsResume) {
  const int port = FreePort();
  RunvoyServer server({"--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_EQ(server.RegisterHostImage().status, 201);
  const std::string key = server.CreateUser("loaded@example.com", "developer");
  const std::string url = server.base_url();
  constexpr int kFollowed = 12;
  constexpr int kLines = 150;

  // Followed runs: a first WebSocket session each, cut by the kill.
  std::vector<std::string> followed;
  std::vector<std::string> ws_urls;
  for (int i = 0; i < kFollowed; ++i) {
    const ApiResponse run = server.Call(
        "POST", "/api/v1/run", key,
        json::serialize(json::object{{"command", NumberedCommand("line-", kLines, "0.03")}}));
    ASSERT_EQ(run.status, 202) << run.body;
    followed.emplace_back(run.json.at("execution_id").as_string());
    ws_urls.emplace_back(run.json.at("websocket_url").as_string());
  }
  std::vector<Session> first(kFollowed);
  std::vector<std::thread> followers;
  for (int i = 0; i < kFollowed; ++i) {
    followers.emplace_back([&, i] { first[i] = Follow(ws_urls[i]); });
  }
  // The CLI follows one of them through the kill and the restart.
  std::map<std::string, std::string> cli_env = {{"HOME", MakeTempDir("runvoy-faults-home")},
                                                {"RUNVOY_API_ENDPOINT", url},
                                                {"RUNVOY_API_KEY", key},
                                                {"NO_COLOR", "1"}};
  ProcessResult cli;
  std::thread cli_thread([&] {
    cli = RunProcess({RunvoyBinary(), "logs", "-f", followed[0]}, cli_env, "",
                     std::chrono::seconds(300));
  });
  // Runs keep being started until the kill: some are STARTING when it comes.
  std::atomic<bool> stop_starting{false};
  std::mutex started_mutex;  // guards acknowledged
  std::vector<std::string> acknowledged;
  std::thread starter([&] {
    common::HttpClient client;
    while (!stop_starting.load()) {
      const std::string body =
          json::serialize(json::object{{"command", NumberedCommand("s-", 20, "0.01")}});
      auto reply = client.Request("POST", url + "/api/v1/run",
                                  {{"X-API-Key", key}, {"Content-Type", "application/json"}}, body,
                                  std::chrono::seconds(30));
      if (!reply)
        continue;  // the server is gone; the request may or may not have been taken
      if (reply->status == 202) {
        std::scoped_lock lock(started_mutex);
        acknowledged.emplace_back(json::parse(reply->body).at("execution_id").as_string());
      }
    }
  });

  // Kill once every followed run is well under way, and not finished.
  EXPECT_TRUE(WaitFor([&] {
    for (const std::string& id : followed) {
      if (StoredLines(LogsOf(server, id, key), "stdout").size() < 10)
        return false;
    }
    return true;
  }));
  server.Kill();
  stop_starting = true;
  starter.join();
  for (auto& thread : followers)
    thread.join();
  int cut = 0;
  for (const Session& session : first)
    cut += session.disconnected ? 0 : 1;
  EXPECT_GT(cut, 0) << "every run finished before the kill: the test proved nothing";

  server.Start();
  EXPECT_EQ(server.base_url(), url);

  // Every follower resumes from its last event: no line missing, none twice.
  std::vector<Session> second(kFollowed);
  followers.clear();
  for (int i = 0; i < kFollowed; ++i) {
    followers.emplace_back([&, i] {
      std::string resume = ws_urls[i];
      if (!first[i].last_event_id.empty())
        resume += "&last_event_id=" + first[i].last_event_id;
      if (first[i].disconnected)
        return;
      second[i] = Follow(resume);
    });
  }
  for (auto& thread : followers)
    thread.join();
  for (int i = 0; i < kFollowed; ++i) {
    std::vector<std::string> seen = first[i].stdout_lines;
    seen.insert(seen.end(), second[i].stdout_lines.begin(), second[i].stdout_lines.end());
    EXPECT_EQ(seen, Numbered("line-", kLines)) << followed[i];
    EXPECT_TRUE(first[i].disconnected || second[i].disconnected) << followed[i];
    EXPECT_EQ(first[i].disconnected ? first[i].status : second[i].status, "SUCCEEDED");
  }
  cli_thread.join();
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  std::string expected_cli;
  for (const std::string& line : Numbered("line-", kLines))
    expected_cli += line + "\n";
  EXPECT_EQ(cli.out, expected_cli);

  // Every acknowledged execution finishes with all its lines stored, exactly once.
  for (const std::string& id : followed) {
    const json::value done = server.WaitFinished(id, key);
    ASSERT_FALSE(done.is_null()) << id;
    EXPECT_EQ(done.at("status").as_string(), "SUCCEEDED") << id;
    EXPECT_EQ(StoredLines(LogsOf(server, id, key), "stdout"), Numbered("line-", kLines)) << id;
  }
  for (const std::string& id : acknowledged) {
    const json::value done = server.WaitFinished(id, key);
    ASSERT_FALSE(done.is_null()) << id;
    EXPECT_EQ(done.at("status").as_string(), "SUCCEEDED") << id;
    EXPECT_EQ(StoredLines(LogsOf(server, id, key), "stdout"), Numbered("s-", 20)) << id;
  }
  // No execution is stuck, including ones whose request the kill cut short: those that did
  // not survive say why.
  const ApiResponse all = server.Call("GET", "/api/v1/executions?limit=0", key);
  ASSERT_EQ(all.status, 200);
  EXPECT_GE(all.json.as_array().size(), followed.size() + acknowledged.size());
  for (const json::value& execution : all.json.as_array()) {
    const std::string id(execution.at("execution_id").as_string());
    const json::value done = server.WaitFinished(id, key);
    ASSERT_FALSE(done.is_null()) << id << " is stuck";
    const std::string status(done.at("status").as_string());
    EXPECT_TRUE(IsFinal(status)) << id << " " << status;
    if (status != "SUCCEEDED") {
      EXPECT_FALSE(StoredLines(LogsOf(server, id, key), "runvoy").empty()) << id;
    }
  }
}

// "Max open files  <soft>  <hard>  files" of a process.
std::pair<std::string, std::string> OpenFileLimits(pid_t pid) {
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(limits, line)) {
    if (line.rfind("Max open files", 0) != 0)
      continue;
    std::istringstream fields(line.substr(14));
    std::string soft;
    std::string hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {};
}

TEST(Faults, TheServerRaisesItsOpenFileLimitToTheHardLimitForManyFollowers) {
  struct rlimit mine;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &mine), 0);
  if (mine.rlim_max <= 256)
    GTEST_SKIP() << "the hard limit is too low to tell";
  // Started with a soft limit far below the hard one, as under systemd (1024).
  struct rlimit low = mine;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  RunvoyServer server;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &mine), 0);
  const auto [soft, hard] = OpenFileLimits(server.pid());
  EXPECT_EQ(soft, hard);
  EXPECT_NE(soft, "256");
}

// The server's data directory on a tmpfs of its own, unmounted at the end.
class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "mounting a tmpfs needs root";
    mount_ = MakeTempDir("runvoy-full");
    ASSERT_EQ(::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=16m,mode=0755"), 0)
        << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    server_.reset();
    if (mounted_) {
      // Supervisors of this server may still be winding down: detach rather than fail.
      ::umount2(mount_.c_str(), MNT_DETACH);
      ::rmdir(mount_.c_str());
    }
  }

  // Fills the file system to the last byte.
  void Fill() {
    RunProcess({"/bin/dd", "if=/dev/zero", "of=" + mount_ + "/filler", "bs=64k"}, {}, {},
               std::chrono::seconds(60));
    struct statvfs fs;
    ASSERT_EQ(::statvfs(mount_.c_str(), &fs), 0);
    ASSERT_EQ(fs.f_bavail, 0u);
  }
  void Free() { ASSERT_EQ(::unlink((mount_ + "/filler").c_str()), 0); }

  std::string mount_;
  bool mounted_ = false;
  std::unique_ptr<RunvoyServer> server_;
};

TEST_F(FullDiskTest, AFullDataDirectoryAnswers503KeepsWhatIsStoredAndHealsWhenSpaceReturns) {
  server_ = std::make_unique<RunvoyServer>(std::vector<std::string>{"--data-dir", mount_});
  RunvoyServer& server = *server_;
  ASSERT_EQ(server.RegisterHostImage().status, 201);
  const std::string key = server.CreateUser("full@example.com", "developer");
  const std::string db = mount_ + "/runvoy.db";

  // Stored before the disk fills.
  std::vector<std::string> earlier;
  for (int i = 0; i < 3; ++i) {
    const ApiResponse run = server.Call("POST", "/api/v1/run", key, R"({"command":"seq 1 300"})");
    ASSERT_EQ(run.status, 202) << run.body;
    earlier.emplace_back(run.json.at("execution_id").as_string());
  }
  std::vector<std::string> expected;
  for (int i = 1; i <= 300; ++i)
    expected.push_back(std::to_string(i));
  for (const std::string& id : earlier) {
    ASSERT_FALSE(server.WaitFinished(id, key).is_null());
    ASSERT_EQ(StoredLines(LogsOf(server, id, key), "stdout"), expected);
  }
  // One runs through the whole episode, printing all along.
  // Lines of 1 KiB, so that what it prints while the disk is full needs new pages.
  const std::string pad(1000, 'p');
  const ApiResponse across = server.Call(
      "POST", "/api/v1/run", key,
      json::serialize(json::object{{"command", NumberedCommand(pad + "-", 100, "0.1")}}));
  ASSERT_EQ(across.status, 202) << across.body;
  const std::string across_id(across.json.at("execution_id").as_string());
  ASSERT_TRUE(
      WaitFor([&] { return !StoredLines(LogsOf(server, across_id, key), "stdout").empty(); }));

  Fill();
  // Writes are refused with a 503 saying why, for as long as the disk is full (3 s here, while
  // the run above goes on printing); never a 500, never a crash.
  std::set<long> statuses;
  const auto full_until = steady_clock::now() + std::chrono::seconds(3);
  for (int i = 0; i < 5 || steady_clock::now() < full_until; ++i) {
    const ApiResponse run = server.Call("POST", "/api/v1/run", key, R"({"command":"echo no"})");
    statuses.insert(run.status);
    EXPECT_EQ(run.status, 503) << run.body;
    EXPECT_TRUE(run.Code() == "DATABASE_ERROR" || run.Code() == "SERVICE_UNAVAILABLE") << run.body;
    if (i == 0)
      std::printf("POST /run on a full disk: %ld %s\n", run.status, run.body.c_str());
    const ApiResponse secret =
        server.Call("POST", "/api/v1/secrets", key,
                    json::serialize(json::object{{"name", "full-" + std::to_string(i)},
                                                 {"key_name", "FULL"},
                                                 {"value", std::string(32768, 'x')}}));
    EXPECT_EQ(secret.status, 503) << secret.body;
  }
  EXPECT_EQ(statuses.count(500), 0u);
  // Reads still work.
  for (const std::string& id : earlier) {
    EXPECT_EQ(StoredLines(LogsOf(server, id, key), "stdout"), expected);
  }
  EXPECT_EQ(server.Call("GET", "/api/v1/executions?limit=0", key).status, 200);
  EXPECT_EQ(Sqlite(db, "PRAGMA integrity_check"), "ok\n");

  Free();
  // The same server works again, without a restart.
  std::string after_id;
  ASSERT_TRUE(WaitFor([&] {
    const ApiResponse run = server.Call("POST", "/api/v1/run", key, R"({"command":"seq 1 50"})");
    if (run.status != 202)
      return false;
    after_id = std::string(run.json.at("execution_id").as_string());
    return true;
  }));
  const json::value after = server.WaitFinished(after_id, key);
  ASSERT_FALSE(after.is_null());
  EXPECT_EQ(after.at("status").as_string(), "SUCCEEDED");
  std::vector<std::string> fifty(expected.begin(), expected.begin() + 50);
  EXPECT_EQ(StoredLines(LogsOf(server, after_id, key), "stdout"), fifty);
  const ApiResponse secret =
      server.Call("POST", "/api/v1/secrets", key,
                  R"({"name":"after-full","key_name":"AFTER","value":"value-after"})");
  EXPECT_EQ(secret.status, 201) << secret.body;

  // The run that went through it lost nothing: its supervisor kept what it could not write.
  const json::value across_done = server.WaitFinished(across_id, key);
  ASSERT_FALSE(across_done.is_null());
  EXPECT_EQ(across_done.at("status").as_string(), "SUCCEEDED");
  const json::value across_logs = LogsOf(server, across_id, key);
  EXPECT_EQ(StoredLines(across_logs, "stdout"), Numbered(pad + "-", 100))
      << "a record torn by the full disk loses every line after it";
  for (const std::string& id : earlier) {
    EXPECT_EQ(StoredLines(LogsOf(server, id, key), "stdout"), expected);
  }
  EXPECT_EQ(server.Call("GET", "/api/v1/health", "").status, 200);
  server_.reset();
  EXPECT_EQ(Sqlite(db, "PRAGMA integrity_check"), "ok\n");
}

}  // namespace
}  // namespace runvoy::testing
