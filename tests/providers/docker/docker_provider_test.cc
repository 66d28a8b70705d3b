// Integration tests of the docker provider against the real dockerd and loopback registry of
// the docker_services fixture (tests/support/docker_services.sh).

#include "providers/docker/docker_provider.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contract/registry.h"
#include "core/ids.h"
#include "providers/docker/docker_client.h"
#include "providers/local/collecting_sink.h"
#include "support/docker_services.h"

namespace runvoy::providers::docker {
namespace {

using contract::TaskExit;
using local::CollectingSink;
using local::Lines;
using namespace std::chrono_literals;

constexpr auto kDeadline = 120s;

std::string NewId() {
  static int counter = 0;
  return "dockertest" + std::to_string(::getpid()) + "x" + std::to_string(++counter) + "x" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
}

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds deadline = kDeadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

bool HasLine(const CollectingSink::Execution& e, const std::string& needle) {
  for (const auto& ev : e.events) {
    if (ev.message.find(needle) != std::string::npos)
      return true;
  }
  return false;
}

void ExpectConsecutive(const CollectingSink::Execution& e) {
  EXPECT_TRUE(e.violations.empty()) << e.violations.front();
  for (size_t i = 0; i < e.events.size(); ++i)
    EXPECT_EQ(e.events[i].sequence, static_cast<int64_t>(i + 1));
}

class DockerProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto services = runvoy::testing::LoadDockerServices();
    if (!services)
      GTEST_SKIP() << "the docker_services fixture did not run (use ctest)";
    services_ = *services;
    Register(registry_);
    provider_ = Make();
    ASSERT_NE(provider_, nullptr);
  }

  void TearDown() override {
    if (provider_ != nullptr) {
      for (const auto& id : started_)
        (void)provider_->Kill(id, contract::KillReason::kUser);
      for (const auto& id : started_)
        EXPECT_TRUE(sink_.WaitFor(
            id, [](const auto& e) { return e.exit.has_value(); }, kDeadline))
            << id;
      provider_.reset();
    }
  }

  std::unique_ptr<contract::ComputeProvider> Make(CollectingSink* sink = nullptr,
                                                  std::string host = {},
                                                  std::string data_dir = {}) {
    contract::ProviderContext context;
    context.node_id = "test-node";
    context.data_dir = data_dir;
    context.section["host"] = host.empty() ? services_.host : host;
    auto made = registry_.MakeCompute("docker", context);
    EXPECT_TRUE(made.has_value()) << (made ? "" : made.error().message);
    if (!made)
      return nullptr;
    (*made)->SetEventSink(sink != nullptr ? *sink : sink_);
    return std::move(*made);
  }

  contract::TaskSpec Spec(const std::string& command, std::string image = {}) {
    contract::TaskSpec spec;
    spec.execution_id = NewId();
    spec.request_id = "req-" + spec.execution_id;
    spec.user = "dev@example.com";
    spec.command = command;
    spec.image.reference = image.empty() ? services_.image : image;
    spec.image.cpu = 256;
    spec.image.memory_mb = 64;
    spec.timeout = 300s;
    spec.kill_grace = 2000ms;
    spec.banner = {"### runvoy: request " + spec.request_id, "image: " + spec.image.reference};
    return spec;
  }

  std::string Start(const contract::TaskSpec& spec, contract::ComputeProvider* provider = nullptr) {
    auto ref = (provider != nullptr ? provider : provider_.get())->Start(spec);
    EXPECT_TRUE(ref.has_value()) << (ref ? "" : ref.error().message);
    started_.push_back(spec.execution_id);
    return ref ? *ref : std::string();
  }

  TaskExit WaitExit(const std::string& id, CollectingSink* sink = nullptr) {
    CollectingSink& s = sink != nullptr ? *sink : sink_;
    EXPECT_TRUE(s.WaitFor(
        id, [](const auto& e) { return e.exit.has_value(); }, kDeadline))
        << "no exit for " << id;
    auto e = s.Get(id);
    return e.exit.value_or(TaskExit{});
  }

  boost::json::value Engine(const std::string& method, const std::string& path,
                            const std::string& body = {}) {
    DockerClient client(DockerEndpoint{services_.host});
    auto r = client.Call(method, path, body);
    EXPECT_TRUE(r.has_value());
    if (!r)
      return nullptr;
    boost::system::error_code ec;
    auto v = boost::json::parse(r->body, ec);
    return ec ? boost::json::value(r->status) : v;
  }

  // A tag of the test image that the daemon does not hold yet: the next run must pull it.
  std::string FreshImage() {
    DockerClient client(DockerEndpoint{services_.host});
    const std::string base = services_.image;
    const std::string repo = base.substr(0, base.rfind(':'));
    EXPECT_EQ(client.Call("POST", "/images/create?fromImage=" + UrlEncode(repo) + "&tag=1")->status,
              200);
    const std::string tag = "t" + NewId();
    EXPECT_EQ(
        client.Call("POST", "/images/" + base + "/tag?repo=" + UrlEncode(repo) + "&tag=" + tag)
            ->status,
        201);
    std::string reference = repo + ":" + tag;
    auto pushed = PushWithAuthHeader(reference);
    EXPECT_TRUE(pushed) << reference;
    EXPECT_EQ(client.Call("DELETE", "/images/" + reference)->status, 200);
    return reference;
  }

  bool PushWithAuthHeader(const std::string& reference) {
    // The push endpoint wants an X-Registry-Auth header: use curl, as an operator would.
    const std::string repo = reference.substr(0, reference.rfind(':'));
    const std::string tag = reference.substr(reference.rfind(':') + 1);
    const std::string command = "curl -sf --unix-socket " + services_.socket +
                                " -X POST -H 'X-Registry-Auth: e30=' 'http://docker/v1.41/images/" +
                                repo + "/push?tag=" + tag + "' | grep -q '\"Digest\"'";
    return std::system(command.c_str()) == 0;
  }

  runvoy::testing::DockerServices services_;
  contract::Registry registry_;
  CollectingSink sink_;
  std::unique_ptr<contract::ComputeProvider> provider_;
  std::vector<std::string> started_;
};

TEST_F(DockerProviderTest, RunsACommandWithBannerOutputAndExitCode) {
  auto spec = Spec("echo out1; echo err1 >&2; printf 'no newline'; exit 3");
  Start(spec);
  const TaskExit exit = WaitExit(spec.execution_id);
  EXPECT_EQ(exit.cause, TaskExit::Cause::kExited);
  EXPECT_EQ(exit.exit_code, 3);
  auto e = sink_.Get(spec.execution_id);
  EXPECT_EQ(e.started, 1);
  ExpectConsecutive(e);
  auto runvoy = Lines(e, core::LogStream::kRunvoy);
  ASSERT_GE(runvoy.size(), 2u);
  EXPECT_EQ(runvoy[0], spec.banner[0]);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"out1", "no newline"}));
  EXPECT_EQ(Lines(e, core::LogStream::kStderr), (std::vector<std::string>{"err1"}));
  // The container is removed once the exit is recorded.
  EXPECT_TRUE(WaitUntil([&] {
    return Engine("GET", "/containers/runvoy-" + spec.execution_id + "/json") ==
               boost::json::value(404) ||
           !Engine("GET", "/containers/runvoy-" + spec.execution_id + "/json")
                .as_object()
                .contains("Id");
  }));
}

TEST_F(DockerProviderTest, AppliesLimitsLabelsNetworkAndAWritableWorkspace) {
  auto spec = Spec(
      "cd /workspace && echo data > f && cat f && pwd && ls /sys/class/net && "
      "sleep 30");
  spec.image.cpu = 512;
  spec.image.memory_mb = 96;
  Start(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "data"));
  auto info = Engine("GET", "/containers/runvoy-" + spec.execution_id + "/json");
  ASSERT_TRUE(info.is_object());
  const auto& host = info.at("HostConfig").as_object();
  EXPECT_EQ(host.at("Memory").as_int64(), 96 * 1024 * 1024);
  EXPECT_EQ(host.at("NanoCpus").as_int64(), 500000000);
  EXPECT_EQ(host.at("PidsLimit").as_int64(), 512);
  EXPECT_EQ(host.at("NetworkMode").as_string(), "none");
  const auto& labels = info.at("Config").at("Labels").as_object();
  EXPECT_EQ(labels.at("io.runvoy.managed").as_string(), "true");
  EXPECT_EQ(labels.at("io.runvoy.execution_id").as_string(), spec.execution_id);
  EXPECT_EQ(labels.at("io.runvoy.node").as_string(), "test-node");
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "lo"));
  auto e = sink_.Get(spec.execution_id);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"data", "/workspace", "lo"}));
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser));
  EXPECT_EQ(WaitExit(spec.execution_id).cause, TaskExit::Cause::kKilledByUser);
}

TEST_F(DockerProviderTest, ScrubsSecretValuesFromTheOutput) {
  auto spec = Spec("echo \"token=$API_TOKEN\"; echo -n \"$API_TOKEN\" | base64");
  spec.secrets.push_back({"api", "API_TOKEN", "sup3r-s3cret-value"});
  Start(spec);
  EXPECT_EQ(WaitExit(spec.execution_id).exit_code, 0);
  auto e = sink_.Get(spec.execution_id);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"token=***", "***"}));
}

TEST_F(DockerProviderTest, KillSendsSigtermThenSigkillAfterTheGrace) {
  auto spec = Spec("trap '' TERM; echo ready; while true; do sleep 1; done");
  spec.kill_grace = 1500ms;
  Start(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "ready"));
  const auto before = std::chrono::steady_clock::now();
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser));
  const TaskExit exit = WaitExit(spec.execution_id);
  EXPECT_EQ(exit.cause, TaskExit::Cause::kKilledByUser);
  EXPECT_GE(std::chrono::steady_clock::now() - before, 1400ms);
  // A second kill of a finished task is fine.
  EXPECT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser));
}

TEST_F(DockerProviderTest, TimesOutATaskThatRunsTooLong) {
  auto spec = Spec("echo started; sleep 60");
  spec.timeout = 2s;
  spec.kill_grace = 500ms;
  Start(spec);
  EXPECT_EQ(WaitExit(spec.execution_id).cause, TaskExit::Cause::kTimedOut);
}

TEST_F(DockerProviderTest, AnImageThatDoesNotExistFailsWithTheReason) {
  auto spec = Spec("true", services_.registry + "/runvoy-test/nothing-here:1");
  Start(spec);
  const TaskExit exit = WaitExit(spec.execution_id);
  EXPECT_EQ(exit.cause, TaskExit::Cause::kFailedToStart);
  EXPECT_NE(exit.reason.find("could not be pulled"), std::string::npos) << exit.reason;
  auto e = sink_.Get(spec.execution_id);
  EXPECT_EQ(e.started, 0);
  EXPECT_TRUE(HasLine(e, "could not be pulled"));
}

TEST_F(DockerProviderTest, ARegistryThatIsDownFailsWithTheReason) {
  // A port nobody listens on: bind one, then close it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  auto spec = Spec("true", "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x/y:1");
  Start(spec);
  const TaskExit exit = WaitExit(spec.execution_id);
  EXPECT_EQ(exit.cause, TaskExit::Cause::kFailedToStart);
  EXPECT_NE(exit.reason.find("connection refused"), std::string::npos) << exit.reason;
}

TEST_F(DockerProviderTest, AKillDuringThePullEndsTheTaskAsKilled) {
  // A "registry" that accepts connections and never answers: the pull hangs.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto spec = Spec("true", "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/slow/img:1");
  Start(spec);
  // The daemon is pulling once it has connected to the "registry".
  struct pollfd pfd = {fd, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 60000), 1) << "the daemon never contacted the registry";
  const int conn = ::accept(fd, nullptr, nullptr);
  ASSERT_GE(conn, 0);
  auto list = provider_->List();
  ASSERT_TRUE(list.has_value());
  bool listed = false;
  for (const auto& t : *list)
    listed = listed || (t.execution_id == spec.execution_id && t.running);
  EXPECT_TRUE(listed) << "a task fetching its image is listed as running";
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser));
  const TaskExit exit = WaitExit(spec.execution_id);
  EXPECT_EQ(exit.cause, TaskExit::Cause::kKilledByUser);
  ::close(conn);
  ::close(fd);
}

TEST_F(DockerProviderTest, TwoRunsOfANewImageAtOncePullItOnce) {
  const std::string image = FreshImage();
  auto a = Spec("echo a", image);
  auto b = Spec("echo b", image);
  Start(a);
  Start(b);
  EXPECT_EQ(WaitExit(a.execution_id).exit_code, 0);
  EXPECT_EQ(WaitExit(b.execution_id).exit_code, 0);
  const int pulls = HasLine(sink_.Get(a.execution_id), "pulling image") +
                    HasLine(sink_.Get(b.execution_id), "pulling image");
  EXPECT_EQ(pulls, 1);
  EXPECT_EQ(Lines(sink_.Get(a.execution_id), core::LogStream::kStdout),
            std::vector<std::string>{"a"});
  EXPECT_EQ(Lines(sink_.Get(b.execution_id), core::LogStream::kStdout),
            std::vector<std::string>{"b"});
}

TEST_F(DockerProviderTest, RefusesToStartWhenTheDaemonIsUnreachable) {
  CollectingSink sink;
  auto provider = Make(&sink, "unix:///nonexistent/docker.sock");
  ASSERT_NE(provider, nullptr);
  auto ref = provider->Start(Spec("true"));
  ASSERT_FALSE(ref.has_value());
  EXPECT_EQ(ref.error().code, core::ErrorCode::kServiceUnavailable);
  EXPECT_NE(ref.error().message.find("docker daemon unreachable at unix:///nonexistent"),
            std::string::npos)
      << ref.error().message;
}

TEST_F(DockerProviderTest, ReattachesAfterARestartWithoutLosingOrRepeatingLines) {
  auto spec = Spec("for i in $(seq 1 40); do echo line$i; sleep 0.05; done");
  const std::string ref = Start(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "line5"));
  provider_.reset();  // the server stops; the container keeps running
  const CollectingSink::Execution first = sink_.Get(spec.execution_id);
  const int64_t delivered = first.events.back().sequence;

  CollectingSink second;
  provider_ = Make(&second);
  ASSERT_TRUE(provider_->Attach(spec.execution_id, ref, delivered));
  ASSERT_TRUE(second.WaitForExit(spec.execution_id));
  auto rest = second.Get(spec.execution_id);
  EXPECT_EQ(rest.exit->exit_code, 0);
  ASSERT_FALSE(rest.events.empty());
  EXPECT_EQ(rest.events.front().sequence, delivered + 1);
  std::vector<std::string> all;
  for (const CollectingSink::Execution* e :
       std::vector<const CollectingSink::Execution*>{&first, &rest}) {
    for (const auto& ev : e->events) {
      if (ev.stream == core::LogStream::kStdout)
        all.push_back(ev.message);
    }
  }
  ASSERT_EQ(all.size(), 40u);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(all[static_cast<size_t>(i)], "line" + std::to_string(i + 1));
  started_.clear();
}

TEST_F(DockerProviderTest, ReattachesInterleavedStdoutAndStderrByTheJournalOfDeliveredStreams) {
  // The live stream and the stored log may interleave stdout and stderr differently: the
  // journal in the data directory tells the next provider what each stream delivered.
  const std::string data_dir = "/tmp/runvoy-docker-journal-" + NewId();
  std::filesystem::create_directories(data_dir);
  CollectingSink first_sink;
  auto first_provider = Make(&first_sink, {}, data_dir);
  ASSERT_NE(first_provider, nullptr);
  auto spec = Spec("for i in $(seq 1 40); do echo out$i; echo err$i >&2; sleep 0.03; done");
  auto ref = first_provider->Start(spec);
  ASSERT_TRUE(ref.has_value());
  ASSERT_TRUE(first_sink.WaitForLine(spec.execution_id, "err5"));
  first_provider.reset();  // the server stops; the container keeps running
  const CollectingSink::Execution first = first_sink.Get(spec.execution_id);
  const int64_t delivered = first.events.back().sequence;
  EXPECT_TRUE(std::filesystem::exists(data_dir + "/docker/" + spec.execution_id + ".streams"));

  CollectingSink second;
  provider_ = Make(&second, {}, data_dir);
  ASSERT_TRUE(provider_->Attach(spec.execution_id, *ref, delivered));
  ASSERT_TRUE(second.WaitForExit(spec.execution_id));
  auto rest = second.Get(spec.execution_id);
  EXPECT_EQ(rest.exit->exit_code, 0);
  ASSERT_FALSE(rest.events.empty());
  for (size_t i = 0; i < rest.events.size(); ++i)
    EXPECT_EQ(rest.events[i].sequence, delivered + 1 + static_cast<int64_t>(i));
  for (auto [stream, prefix] : {std::pair{core::LogStream::kStdout, "out"},
                                std::pair{core::LogStream::kStderr, "err"}}) {
    auto lines = Lines(first, stream);
    for (const auto& line : Lines(rest, stream))
      lines.push_back(line);
    ASSERT_EQ(lines.size(), 40u) << prefix;
    for (int i = 0; i < 40; ++i)
      EXPECT_EQ(lines[static_cast<size_t>(i)], prefix + std::to_string(i + 1));
  }
  // The journal goes with the recorded exit.
  EXPECT_TRUE(WaitUntil([&] {
    return !std::filesystem::exists(data_dir + "/docker/" + spec.execution_id + ".streams");
  }));
  std::filesystem::remove_all(data_dir);
}

TEST_F(DockerProviderTest, RecordsTheEndOfATaskThatFinishedWhileTheServerWasDown) {
  auto spec = Spec("echo one; sleep 1; echo two; exit 7");
  const std::string ref = Start(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "one"));
  provider_.reset();
  const auto first = sink_.Get(spec.execution_id);
  ASSERT_TRUE(WaitUntil([&] {
    auto info = Engine("GET", "/containers/" + ref + "/json");
    return info.is_object() && info.at("State").at("Status").as_string() == "exited";
  }));
  CollectingSink second;
  provider_ = Make(&second);
  ASSERT_TRUE(provider_->Attach(spec.execution_id, ref, first.events.back().sequence));
  const TaskExit exit = WaitExit(spec.execution_id, &second);
  EXPECT_EQ(exit.cause, TaskExit::Cause::kExited);
  EXPECT_EQ(exit.exit_code, 7);
  // Whatever the first server had delivered before it stopped, the two together hold each
  // line once.
  auto lines = Lines(first, core::LogStream::kStdout);
  for (const auto& line : Lines(second.Get(spec.execution_id), core::LogStream::kStdout))
    lines.push_back(line);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(provider_->Attach("no-such-execution", "", 0).error().code, core::ErrorCode::kNotFound);
  started_.clear();
}

TEST_F(DockerProviderTest, ListsItsContainersByLabelForReconcile) {
  auto spec = Spec("sleep 30");
  Start(spec);
  ASSERT_TRUE(WaitUntil([&] {
    auto list = provider_->List();
    if (!list)
      return false;
    for (const auto& t : *list) {
      if (t.execution_id == spec.execution_id && t.running)
        return true;
    }
    return false;
  }));
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kReconcile));
  EXPECT_EQ(WaitExit(spec.execution_id).cause, TaskExit::Cause::kKilledByUser);
  // Once its exit is recorded the container is removed, and no longer listed.
  EXPECT_TRUE(WaitUntil([&] {
    auto list = provider_->List();
    if (!list)
      return false;
    for (const auto& t : *list) {
      if (t.execution_id == spec.execution_id)
        return false;
    }
    return true;
  }));
}

TEST_F(DockerProviderTest, KeepsEventsTheSinkRefusedAndDeliversThemLater) {
  sink_.SetRefusing(true);
  auto spec = Spec("echo a; echo b; exit 2");
  Start(spec);
  ASSERT_TRUE(WaitUntil([&] { return sink_.refused() >= 3; }));
  sink_.SetRefusing(false);
  EXPECT_EQ(WaitExit(spec.execution_id).exit_code, 2);
  auto e = sink_.Get(spec.execution_id);
  ExpectConsecutive(e);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"a", "b"}));
}

TEST_F(DockerProviderTest, FollowsATaskAcrossADaemonRestart) {
  // A daemon of this test's own (live-restore keeps containers running while it is away).
  const std::string dir = "/tmp/runvoy-dockerd-" + NewId();
  const std::string script = runvoy::testing::DockerServicesScript();
  ASSERT_EQ(std::system((script + " start-dockerd " + dir + " --live-restore").c_str()), 0);
  struct Stop {
    std::string script, dir;
    ~Stop() {
      std::system((script + " stop-dockerd " + dir + " >/dev/null 2>&1; rm -rf " + dir).c_str());
    }
  } stop{script, dir};
  CollectingSink sink;
  auto provider = Make(&sink, "unix://" + dir + "/docker.sock");
  ASSERT_NE(provider, nullptr);
  auto spec = Spec("for i in $(seq 1 60); do echo line$i; sleep 0.1; done");
  ASSERT_TRUE(provider->Start(spec).has_value());
  ASSERT_TRUE(sink.WaitForLine(spec.execution_id, "line3"));
  ASSERT_EQ(std::system((script + " stop-dockerd " + dir).c_str()), 0);
  ASSERT_EQ(std::system((script + " start-dockerd " + dir + " --live-restore").c_str()), 0);
  ASSERT_TRUE(sink.WaitForExit(spec.execution_id));
  auto e = sink.Get(spec.execution_id);
  ExpectConsecutive(e);
  auto lines = Lines(e, core::LogStream::kStdout);
  ASSERT_EQ(lines.size(), 60u);
  for (int i = 0; i < 60; ++i)
    EXPECT_EQ(lines[static_cast<size_t>(i)], "line" + std::to_string(i + 1));
  EXPECT_EQ(e.exit->exit_code, 0);
  provider.reset();
}

TEST_F(DockerProviderTest, ImportsADockerSaveTarballUnderTheGivenReference) {
  // `docker save` of the test image, as an operator would upload it.
  const std::string tarball = ::testing::TempDir() + "runvoy-import-" + NewId() + ".tar";
  const std::string base = services_.image;
  DockerClient client(DockerEndpoint{services_.host});
  const std::string repo = base.substr(0, base.rfind(':'));
  ASSERT_EQ(client.Call("POST", "/images/create?fromImage=" + UrlEncode(repo) + "&tag=1")->status,
            200);
  auto saved = client.Call("GET", "/images/" + base + "/get");
  ASSERT_TRUE(saved.has_value());
  ASSERT_EQ(saved->status, 200);
  std::ofstream(tarball, std::ios::binary) << saved->body;
  const std::string reference = "imported/busybox:" + NewId();
  contract::ImageSpec image;
  image.reference = reference;
  ASSERT_TRUE(provider_->ImportImage(image, tarball));
  std::filesystem::remove(tarball);

  auto spec = Spec("echo imported", reference);
  Start(spec);
  EXPECT_EQ(WaitExit(spec.execution_id).exit_code, 0);
  auto e = sink_.Get(spec.execution_id);
  EXPECT_FALSE(HasLine(e, "pulling image"));
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), std::vector<std::string>{"imported"});

  const std::string junk = ::testing::TempDir() + "runvoy-import-junk-" + NewId() + ".tar";
  std::ofstream(junk) << "not an image";
  auto refused = provider_->ImportImage(image, junk);
  std::filesystem::remove(junk);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace runvoy::providers::docker
