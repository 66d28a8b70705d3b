// Git workspaces of the local sandbox (SPEC.md §2.7): unit tests of the helpers, and
// integration tests that run real supervisors (the fake runvoy binary) cloning repositories
// made by the test, over file:// and over smart HTTP from a server on 127.0.0.1.

#include "providers/local/git_workspace.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contract/compute.h"
#include "contract/registry.h"
#include "collecting_sink.h"
#include "git_test_server.h"
#include "providers/local/local_provider.h"

#ifndef RUNVOY_FAKE_SUPERVISOR
#error "RUNVOY_FAKE_SUPERVISOR must name the fake runvoy binary"
#endif

namespace runvoy::providers::local {
namespace {

using contract::TaskExit;
using namespace std::chrono_literals;
using testing_git::FilesContaining;
using testing_git::GitHttpServer;
using testing_git::SilentServer;
using testing_git::TestRepos;

constexpr auto kDeadline = 60s;
constexpr char kToken[] = "tok-7f3a9c1e5b2d4f6a8c0e";

TEST(GitWorkspaceHelpers, TellCommitsFromBranchesAndTags) {
  EXPECT_TRUE(LooksLikeCommit("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_TRUE(LooksLikeCommit("abc1234"));
  EXPECT_TRUE(LooksLikeCommit("ABCDEF0"));
  EXPECT_FALSE(LooksLikeCommit("abc123"));
  EXPECT_FALSE(LooksLikeCommit("main"));
  EXPECT_FALSE(LooksLikeCommit("v1.0.0"));
  EXPECT_FALSE(LooksLikeCommit("deadbeefg"));
  EXPECT_FALSE(LooksLikeCommit(""));
}

TEST(GitWorkspaceHelpers, PlaceTheWorkingDirectoryInTheRepository) {
  EXPECT_EQ(GitWorkingDirectory({}), "/workspace");
  EXPECT_EQ(GitWorkingDirectory({"file:///r", "", ""}), "/workspace/repo");
  EXPECT_EQ(GitWorkingDirectory({"file:///r", "", "."}), "/workspace/repo");
  EXPECT_EQ(GitWorkingDirectory({"file:///r", "", "a/b/"}), "/workspace/repo/a/b");
}

TEST(GitWorkspaceHelpers, RejectAbsolutePathsAndParentSegments) {
  EXPECT_TRUE(ValidateGitPath("").has_value());
  EXPECT_TRUE(ValidateGitPath("a/b..c/d").has_value());
  EXPECT_FALSE(ValidateGitPath("/etc").has_value());
  EXPECT_FALSE(ValidateGitPath("..").has_value());
  EXPECT_FALSE(ValidateGitPath("a/../../b").has_value());
  EXPECT_FALSE(ValidateGitPath("a/..").has_value());
}

TEST(GitWorkspaceHelpers, FindTheTokenInTheEnvBeforeTheSecrets) {
  contract::TaskSpec task;
  EXPECT_EQ(FindGitToken(task), "");
  task.secrets = {{"s1", "GIT_TOKEN", "from-secret"}};
  EXPECT_EQ(FindGitToken(task), "from-secret");
  task.secrets.push_back({"s2", "GITHUB_TOKEN", "github-secret"});
  EXPECT_EQ(FindGitToken(task), "github-secret");
  task.env["GIT_TOKEN"] = "from-env";
  EXPECT_EQ(FindGitToken(task), "from-env");
}

TEST(GitWorkspaceHelpers, CheckThatThePathStaysInsideTheRepositoryThroughSymlinks) {
  const std::string dir = testing::TempDir() + "git-path-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/repo/a/b");
  std::filesystem::create_directories(dir + "/repo/.git/objects");
  std::filesystem::create_directories(dir + "/outside");
  std::filesystem::create_directory_symlink("../..", dir + "/repo/a/up");
  std::filesystem::create_directory_symlink(dir + "/outside", dir + "/repo/a/abs");
  std::filesystem::create_directory_symlink("b", dir + "/repo/a/inside");
  std::ofstream(dir + "/repo/a/file") << "x";
  const std::string repo = dir + "/repo";
  EXPECT_TRUE(CheckGitPath(repo, "").has_value());
  EXPECT_TRUE(CheckGitPath(repo, "a/b").has_value());
  EXPECT_TRUE(CheckGitPath(repo, "a/inside").has_value());
  auto missing = CheckGitPath(repo, "a/nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  auto up = CheckGitPath(repo, "a/up");
  ASSERT_FALSE(up.has_value());
  EXPECT_NE(up.error().message.find("out of the repository"), std::string::npos);
  EXPECT_FALSE(CheckGitPath(repo, "a/abs").has_value());
  EXPECT_FALSE(CheckGitPath(repo, "a/file").has_value());
  EXPECT_FALSE(CheckGitPath(repo, ".git/objects").has_value());
  EXPECT_FALSE(CheckGitPath(repo, "a/../..").has_value());
  std::filesystem::remove_all(dir);
}

// Records what the provider reports.
std::string AllText(const CollectingSink::Execution& e) {
  std::string text;
  for (const auto& ev : e.events)
    text += ev.message + "\n";
  if (e.exit)
    text += e.exit->reason;
  return text;
}

bool Contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

class GitWorkspaceTest : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "the local sandbox needs root";
    base_ = testing::TempDir() + "runvoy-git-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name();
    data_dir_ = base_ + "/data";
    std::filesystem::create_directories(data_dir_);
    ASSERT_TRUE(repos_.Create(base_ + "/repos"));
    Register(registry_);
    contract::ProviderContext context;
    context.data_dir = data_dir_;
    context.node_id = "test";
    context.runvoy_binary = RUNVOY_FAKE_SUPERVISOR;
    context.clock = &clock_;
    context.section = {{"pids_limit", "128"}};
    auto provider = registry_.MakeCompute("local", context);
    ASSERT_TRUE(provider.has_value()) << provider.error().message;
    provider_ = std::move(*provider);
    provider_->SetEventSink(sink_);
  }

  void TearDown() override {
    if (provider_ != nullptr) {
      for (const auto& id : started_)
        (void)provider_->Kill(id, contract::KillReason::kUser);
      for (const auto& id : started_)
        EXPECT_TRUE(sink_.WaitFor(id, [](const CollectingSink::Execution& e) { return e.exit.has_value(); }));
      provider_.reset();
    }
    server_.Stop();
    if (!base_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(base_, ec);
    }
  }

  contract::TaskSpec Spec(const std::string& command, const std::string& repo,
                          const std::string& ref = "", const std::string& path = "") {
    contract::TaskSpec spec;
    spec.execution_id = "git-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_);
    spec.command = command;
    spec.image.reference = "host";
    spec.image.cpu = 1024;
    spec.image.memory_mb = 256;
    spec.timeout = 60s;
    spec.kill_grace = 1000ms;
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
    EXPECT_TRUE(sink_.WaitFor(spec.execution_id,
                              [](const CollectingSink::Execution& e) { return e.exit.has_value(); }))
        << "no exit for " << spec.command;
    return sink_.Get(spec.execution_id);
  }

  std::string StartServer(const std::string& token) {
    const int port = server_.Start(repos_.dir + "/http", token, base_ + "/server.log");
    EXPECT_GT(port, 0);
    return "http://127.0.0.1:" + std::to_string(port);
  }

  void ExpectFailedWith(const CollectingSink::Execution& e, const std::string& words) {
    ASSERT_TRUE(e.exit);
    EXPECT_EQ(e.exit->cause, TaskExit::Cause::kFailedToStart);
    EXPECT_EQ(e.exit->exit_code, 1);
    EXPECT_NE(e.exit->reason.find(words), std::string::npos) << e.exit->reason;
    EXPECT_EQ(e.started, 0);
    const auto runvoy = Lines(e, core::LogStream::kRunvoy);
    EXPECT_TRUE(Contains(runvoy, e.exit->reason)) << testing::PrintToString(runvoy);
    EXPECT_TRUE(Lines(e, core::LogStream::kStdout).empty());
  }

  core::WallClock clock_;
  contract::Registry registry_;
  CollectingSink sink_;
  std::string base_, data_dir_;
  TestRepos repos_;
  GitHttpServer server_;
  std::unique_ptr<contract::ComputeProvider> provider_;
  std::vector<std::string> started_;
  int counter_ = 0;
};

TEST_F(GitWorkspaceTest, ClonesTheDefaultBranchAndStartsInTheRepositoryAsTheRunUser) {
  auto e =
      Run(Spec("pwd; cat file; stat -c %U:%G file .git; touch new && echo writable; "
               "git -C /workspace/repo log --oneline | wc -l",
               repos_.FileUrl()));
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited) << e.exit->reason;
  EXPECT_EQ(e.exit->exit_code, 0);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"/workspace/repo", "main-2", "nobody:nogroup",
                                      "nobody:nogroup", "writable", "1"}));
  const auto runvoy = Lines(e, core::LogStream::kRunvoy);
  EXPECT_TRUE(
      Contains(runvoy, "### runvoy: cloning " + repos_.FileUrl() + " (ref (default branch))"))
      << testing::PrintToString(runvoy);
  EXPECT_TRUE(Contains(runvoy, "### runvoy: checked out " + repos_.main_sha));
}

TEST_F(GitWorkspaceTest, ChecksOutABranchATagAndACommit) {
  struct Case {
    std::string ref, content, sha;
  };
  for (const Case& c :
       {Case{"feature", "feature", repos_.feature_sha}, Case{"v1", "main-1", repos_.first_sha},
        Case{repos_.first_sha, "main-1", repos_.first_sha},
        Case{repos_.feature_sha.substr(0, 10), "feature", repos_.feature_sha}}) {
    auto e = Run(Spec("cat file; git rev-parse HEAD", repos_.FileUrl(), c.ref));
    ASSERT_TRUE(e.exit) << c.ref;
    EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited) << c.ref << ": " << e.exit->reason;
    EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{c.content, c.sha}))
        << c.ref;
    EXPECT_TRUE(Contains(Lines(e, core::LogStream::kRunvoy), "### runvoy: checked out " + c.sha))
        << c.ref;
  }
}

TEST_F(GitWorkspaceTest, StartsInTheGitPath) {
  auto e = Run(Spec("pwd; cat f", repos_.FileUrl(), "main", "sub/deeper"));
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->exit_code, 0) << e.exit->reason;
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"/workspace/repo/sub/deeper", "deep"}));
}

TEST_F(GitWorkspaceTest, AMissingRefFailsTheTaskWithTheReason) {
  ExpectFailedWith(Run(Spec("echo never", repos_.FileUrl(), "no-such-branch")), "no-such-branch");
  ExpectFailedWith(Run(Spec("echo never", repos_.FileUrl(), "0123456789abcdef")),
                   "0123456789abcdef");
}

TEST_F(GitWorkspaceTest, AMissingRepositoryFailsTheTaskWithTheReason) {
  ExpectFailedWith(Run(Spec("echo never", "file://" + base_ + "/nothing-here")),
                   "git clone of file://" + base_ + "/nothing-here failed");
}

TEST_F(GitWorkspaceTest, AMissingPathFailsTheTask) {
  ExpectFailedWith(Run(Spec("echo never", repos_.FileUrl(), "", "no/such/dir")),
                   "git_path no/such/dir does not exist in the repository");
}

TEST_F(GitWorkspaceTest, APathLeavingTheRepositoryFailsTheTask) {
  ExpectFailedWith(Run(Spec("echo never", repos_.FileUrl(), "", "sub/up")),
                   "git_path sub/up leads out of the repository");
  ExpectFailedWith(Run(Spec("echo never", repos_.FileUrl(), "", "sub/abs")),
                   "git_path sub/abs leads out of the repository");
  ExpectFailedWith(Run(Spec("echo never", repos_.FileUrl(), "", "sub/../..")), "without \"..\"");
}

TEST_F(GitWorkspaceTest, ClonesOverHttpAlthoughTheTaskHasNoNetwork) {
  const std::string url = StartServer(kToken);
  auto e = Run(Spec("cat file; ls /sys/class/net", url + "/public/repo.git", "feature"));
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->exit_code, 0) << e.exit->reason;
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"feature", "lo"}));
}

TEST_F(GitWorkspaceTest, ClonesAPrivateRepositoryWithATokenSecretThatAppearsNowhere) {
  const std::string url = StartServer(kToken);
  auto spec = Spec("cat file; echo \"$GIT_TOKEN\"", url + "/private/repo.git", "v1");
  spec.secrets = {{"git-token", "GIT_TOKEN", kToken}};
  const std::string events_dir = data_dir_ + "/executions/" + spec.execution_id;
  Start(spec);
  // While it runs, nothing under the data directory holds the token (the provider deletes the
  // execution's directory once it has reported the exit).
  ASSERT_TRUE(sink_.WaitFor(spec.execution_id, [](const CollectingSink::Execution& e) {
    return e.exit.has_value() || !e.events.empty();
  }));
  EXPECT_TRUE(FilesContaining(data_dir_, kToken).empty());
  ASSERT_TRUE(sink_.WaitFor(spec.execution_id,
                            [](const CollectingSink::Execution& e) { return e.exit.has_value(); }));
  auto e = sink_.Get(spec.execution_id);
  EXPECT_EQ(e.exit->exit_code, 0) << e.exit->reason;
  // The command gets the secret (scrubbed in its output), and the tag's content.
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"main-1", "***"}));
  EXPECT_EQ(AllText(e).find(kToken), std::string::npos);
  EXPECT_EQ(AllText(e).find(testing_git::Base64("x-access-token:" + std::string(kToken))),
            std::string::npos);
  EXPECT_TRUE(FilesContaining(data_dir_, kToken).empty());
  ASSERT_TRUE(std::filesystem::is_regular_file(base_ + "/server.log"));
  EXPECT_TRUE(FilesContaining(base_ + "/server.log", kToken).empty());
}

TEST_F(GitWorkspaceTest, ATokenInTheRequestEnvWorksToo) {
  const std::string url = StartServer(kToken);
  auto spec = Spec("cat file", url + "/private/repo.git");
  spec.env = {{"GITHUB_TOKEN", kToken}};
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->exit_code, 0) << e.exit->reason;
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"main-2"}));
  EXPECT_EQ(AllText(e).find(kToken), std::string::npos);
}

TEST_F(GitWorkspaceTest, AWrongOrMissingTokenFailsWithoutShowingIt) {
  const std::string url = StartServer(kToken);
  const std::string wrong = "wrong-token-5e1d0c9b8a";
  auto spec = Spec("echo never", url + "/private/repo.git");
  spec.secrets = {{"git-token", "GIT_TOKEN", wrong}};
  auto e = Run(spec);
  ExpectFailedWith(e, "git clone of " + url + "/private/repo.git failed");
  EXPECT_EQ(AllText(e).find(wrong), std::string::npos) << AllText(e);
  ExpectFailedWith(Run(Spec("echo never", url + "/private/repo.git")), "failed");
}

// Progress lines of the clone reach the sink only once the command starts, or with the exit:
// they cannot tell that the clone is running; the silent server's client can.
TEST_F(GitWorkspaceTest, AKillEndsAHangingClone) {
  SilentServer silent;
  auto spec = Spec("echo never", silent.Url());
  Start(spec);
  // git is waiting for the server's answer.
  ASSERT_TRUE(silent.WaitForClient(kDeadline));
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser).has_value());
  ASSERT_TRUE(sink_.WaitFor(spec.execution_id,
                            [](const CollectingSink::Execution& e) { return e.exit.has_value(); }));
  EXPECT_EQ(sink_.Get(spec.execution_id).exit->cause, TaskExit::Cause::kKilledByUser);
}

TEST_F(GitWorkspaceTest, TheTimeoutBoundsAHangingClone) {
  SilentServer silent;
  auto spec = Spec("echo never", silent.Url());
  spec.timeout = 2s;
  const auto begin = std::chrono::steady_clock::now();
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kTimedOut);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 20s);
}

}  // namespace
}  // namespace runvoy::providers::local
