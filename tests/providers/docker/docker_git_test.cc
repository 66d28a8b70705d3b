// Git workspaces on the docker provider (SPEC.md §2.7) against the real dockerd of the
// docker_services fixture: the server clones repositories made by the test (file:// and a
// smart-HTTP server on 127.0.0.1 that wants a token) and copies them into the container, whose
// network is none.

#include <chrono>
#include <cstdlib>
#include <filesystem>
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
#include "providers/docker/docker_client.h"
#include "providers/docker/docker_provider.h"
#include "providers/local/collecting_sink.h"
#include "providers/local/git_test_server.h"
#include "support/docker_services.h"

namespace runvoy::providers::docker {
namespace {

using contract::TaskExit;
using local::CollectingSink;
using local::Lines;
using testing_git::GitHttpServer;
using testing_git::SilentServer;
using testing_git::TestRepos;
using namespace std::chrono_literals;

constexpr auto kDeadline = 120s;
constexpr char kToken[] = "docker-git-token-5e1f9a3c7b";

std::string AllText(const CollectingSink::Execution& e) {
  std::string text;
  for (const auto& ev : e.events)
    text += ev.message + "\n";
  return text + (e.exit ? e.exit->reason : std::string());
}

bool Contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& line : lines) {
    if (line.find(needle) != std::string::npos)
      return true;
  }
  return false;
}

class DockerGitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto services = runvoy::testing::LoadDockerServices();
    if (!services)
      GTEST_SKIP() << "the docker_services fixture did not run (use ctest)";
    services_ = *services;
    base_ = ::testing::TempDir() + "runvoy-docker-git-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(repos_.Create(base_ + "/repos"));
    Register(registry_);
    contract::ProviderContext context;
    context.node_id = "git-test-node";
    context.data_dir = base_ + "/data";
    std::filesystem::create_directories(context.data_dir);
    context.section["host"] = services_.host;
    auto made = registry_.MakeCompute("docker", context);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    provider_ = std::move(*made);
    provider_->SetEventSink(sink_);
  }

  void TearDown() override {
    if (provider_ != nullptr) {
      for (const auto& id : started_)
        (void)provider_->Kill(id, contract::KillReason::kUser);
      for (const auto& id : started_) {
        EXPECT_TRUE(sink_.WaitFor(
            id, [](const CollectingSink::Execution& e) { return e.exit.has_value(); }, kDeadline));
      }
      provider_.reset();
    }
    http_.Stop();
    std::error_code ec;
    if (!base_.empty())
      std::filesystem::remove_all(base_, ec);
  }

  contract::TaskSpec Spec(const std::string& command, const std::string& repo,
                          const std::string& ref = "", const std::string& path = "") {
    static int counter = 0;
    contract::TaskSpec spec;
    spec.execution_id = "dockergit" + std::to_string(::getpid()) + "x" + std::to_string(++counter);
    spec.request_id = "req-" + spec.execution_id;
    spec.user = "dev@example.com";
    spec.command = command;
    spec.image.reference = services_.image;
    spec.image.cpu = 256;
    spec.image.memory_mb = 64;
    spec.timeout = 300s;
    spec.kill_grace = 1000ms;
    spec.banner = {"### runvoy: request " + spec.request_id};
    spec.git = {repo, ref, path};
    return spec;
  }

  void Start(const contract::TaskSpec& spec) {
    auto ref = provider_->Start(spec);
    ASSERT_TRUE(ref.has_value()) << ref.error().message;
    started_.push_back(spec.execution_id);
  }

  CollectingSink::Execution Run(const contract::TaskSpec& spec) {
    Start(spec);
    EXPECT_TRUE(sink_.WaitFor(
        spec.execution_id, [](const CollectingSink::Execution& e) { return e.exit.has_value(); },
        kDeadline))
        << "no exit for " << spec.command;
    return sink_.Get(spec.execution_id);
  }

  long EngineStatus(const std::string& method, const std::string& path,
                    const std::string& body = {}) {
    DockerClient client(DockerEndpoint{services_.host});
    auto r = client.Call(method, path, body);
    return r ? r->status : 0;
  }

  std::string FileUrl() const { return "file://" + repos_.dir + "/src"; }

  runvoy::testing::DockerServices services_;
  std::string base_;
  TestRepos repos_;
  GitHttpServer http_;
  contract::Registry registry_;
  CollectingSink sink_;
  std::unique_ptr<contract::ComputeProvider> provider_;
  std::vector<std::string> started_;
};

TEST_F(DockerGitTest, ClonesIntoTheWorkspaceAndStartsInTheRepositoryWithoutANetwork) {
  auto e = Run(Spec("pwd; cat file; stat -c %u:%g file; ls /sys/class/net", FileUrl(), "feature"));
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited) << AllText(e);
  EXPECT_EQ(e.exit->exit_code, 0) << AllText(e);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"/workspace/repo", "feature", "0:0", "lo"}));
  const auto runvoy = Lines(e, core::LogStream::kRunvoy);
  EXPECT_TRUE(Contains(runvoy, "### runvoy: cloning " + FileUrl() + " (ref feature)")) << AllText(e);
  EXPECT_TRUE(Contains(runvoy, "### runvoy: checked out " + repos_.feature_sha)) << AllText(e);
  for (size_t i = 0; i < e.events.size(); ++i)
    EXPECT_EQ(e.events[i].sequence, static_cast<int64_t>(i + 1));
}

TEST_F(DockerGitTest, ChecksOutACommitAndStartsInThePath) {
  auto e = Run(Spec("pwd; cat /workspace/repo/file; cat deeper/f", FileUrl(), repos_.first_sha,
                    "sub"));
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->exit_code, 0) << AllText(e);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"/workspace/repo/sub", "main-1", "deep"}));
}

TEST_F(DockerGitTest, HandsTheCloneToTheImagesUser) {
  // An image of the test image whose user is 4321:4322 (a commit with a USER change).
  const std::string helper = "runvoy-git-user-" + std::to_string(::getpid());
  const std::string base = services_.image.substr(0, services_.image.rfind(':'));
  ASSERT_EQ(EngineStatus("POST", "/images/create?fromImage=" + UrlEncode(base) + "&tag=1"), 200);
  const std::string create = R"({"Image":")" + services_.image + R"(","Cmd":["true"]})";
  ASSERT_EQ(EngineStatus("POST", "/containers/create?name=" + helper, create), 201);
  const std::string image_repo = "runvoy-test/git-user";
  ASSERT_EQ(EngineStatus("POST", "/commit?container=" + helper + "&repo=" +
                                     UrlEncode(image_repo) + "&tag=1&changes=" +
                                     UrlEncode("USER 4321:4322"),
                         "{}"),
            201);
  (void)EngineStatus("DELETE", "/containers/" + helper + "?force=1");
  auto spec = Spec("id -u; id -g; stat -c %u:%g . file sub/deeper/f; echo more >> file; cat file",
                   FileUrl());
  spec.image.reference = image_repo + ":1";
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->exit_code, 0) << AllText(e);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"4321", "4322", "4321:4322", "4321:4322", "4321:4322",
                                      "main-2", "more"}));
}

TEST_F(DockerGitTest, AMissingRefFailsWithTheReasonAndLeavesNoContainer) {
  auto spec = Spec("echo never", FileUrl(), "no-such-branch");
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kFailedToStart);
  EXPECT_EQ(e.exit->exit_code, 1);
  EXPECT_NE(e.exit->reason.find("git clone of " + FileUrl() + " failed"), std::string::npos)
      << e.exit->reason;
  EXPECT_TRUE(Contains(Lines(e, core::LogStream::kRunvoy), e.exit->reason)) << AllText(e);
  EXPECT_TRUE(Lines(e, core::LogStream::kStdout).empty());
  EXPECT_EQ(EngineStatus("GET", "/containers/runvoy-" + spec.execution_id + "/json"), 404);
  auto path = Run(Spec("echo never", FileUrl(), "", "sub/up"));
  ASSERT_TRUE(path.exit);
  EXPECT_EQ(path.exit->exit_code, 1);
  EXPECT_NE(path.exit->reason.find("leads out of the repository"), std::string::npos)
      << path.exit->reason;
}

TEST_F(DockerGitTest, ClonesAPrivateRepositoryWithATokenSecretThatAppearsNowhere) {
  const int port = http_.Start(repos_.dir + "/http", kToken, base_ + "/git-server.log");
  ASSERT_GT(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/private/repo.git";
  auto spec = Spec("cat file; echo \"token is $GIT_TOKEN\"", url, "v1");
  contract::SecretEnv secret;
  secret.name = "git-token";
  secret.key_name = "GIT_TOKEN";
  secret.value = kToken;
  spec.secrets.push_back(secret);
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->exit_code, 0) << AllText(e);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"main-1", "token is ***"}));
  const std::string text = AllText(e);
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.find(testing_git::Base64("x-access-token:" + std::string(kToken))),
            std::string::npos);
  // Without the token the same repository cannot be had.
  auto refused = Run(Spec("echo never", url));
  ASSERT_TRUE(refused.exit);
  EXPECT_EQ(refused.exit->exit_code, 1);
  EXPECT_NE(refused.exit->reason.find("git clone of " + url + " failed"), std::string::npos)
      << refused.exit->reason;
}

TEST_F(DockerGitTest, AKillEndsAHangingClone) {
  SilentServer silent;
  auto spec = Spec("echo never", silent.Url());
  Start(spec);
  ASSERT_TRUE(silent.WaitForClient(kDeadline));  // git is waiting for the server's answer
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser).has_value());
  ASSERT_TRUE(sink_.WaitFor(
      spec.execution_id, [](const CollectingSink::Execution& e) { return e.exit.has_value(); },
      kDeadline));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 30s);
  EXPECT_EQ(sink_.Get(spec.execution_id).exit->cause, TaskExit::Cause::kKilledByUser);
  EXPECT_EQ(EngineStatus("GET", "/containers/runvoy-" + spec.execution_id + "/json"), 404);
}

}  // namespace
}  // namespace runvoy::providers::docker
