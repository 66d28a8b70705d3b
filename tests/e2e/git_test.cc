// Git workspaces end to end (SPEC.md §2.7): the real server and CLI clone repositories made by
// the test, over file:// and from a smart-HTTP server on 127.0.0.1 that wants a token, on every
// compute backend that clones: the local sandbox (host image) and Docker (network none; the
// docker_services fixture's daemon).

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "../providers/local/git_test_server.h"
#include "support/docker_services.h"
#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

namespace json = boost::json;
using testing_git::FilesContaining;
using testing_git::GitHttpServer;
using testing_git::TestRepos;

constexpr char kToken[] = "e2e-token-3b9f1c7d5a2e8046";

// A compute backend the git suite runs on.
struct Backend {
  std::string name;  // "local-host" or "docker"
};

void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    if (c == '-')
      c = '_';
  }
  return name;
}

// The repositories and the git server are shared; each backend has a server of its own, started
// on first use.
class GitTest : public ::testing::TestWithParam<Backend> {
 protected:
  struct Server {
    std::unique_ptr<RunvoyServer> server;
    std::string developer;
  };

  static void SetUpTestSuite() {
    base_ = new std::string(MakeTempDir("runvoy-e2e-git"));
    repos_ = new TestRepos;
    ASSERT_TRUE(repos_->Create(*base_ + "/repos"));
    http_ = new GitHttpServer;
    const int port = http_->Start(repos_->dir + "/http", kToken, *base_ + "/git-server.log");
    ASSERT_GT(port, 0);
    http_url_ = new std::string("http://127.0.0.1:" + std::to_string(port));
  }
  static void TearDownTestSuite() {
    servers_.clear();
    server_ = nullptr;
    delete http_;  // stops the git server by PID
    http_ = nullptr;
    std::error_code ec;
    if (base_ != nullptr)
      std::filesystem::remove_all(*base_, ec);
    delete base_;
    delete repos_;
    delete http_url_;
  }

  void SetUp() override {
    ASSERT_NE(repos_, nullptr);
    const std::string backend = GetParam().name;
    auto& entry = servers_[backend];
    if (entry.server == nullptr) {
      std::vector<std::string> flags = {"--config", "none"};
      std::string image_body = R"({"image":"host","is_default":true})";
      if (backend == "docker") {
        const auto services = LoadDockerServices();
        if (!services)
          GTEST_SKIP() << "the docker_services fixture did not run (use ctest)";
        const std::string config = MakeTempDir("runvoy-e2e-git-docker") + "/server.yaml";
        std::ofstream(config) << "compute:\n  provider: docker\n  docker:\n    host: "
                              << services->host << "\n";
        flags = {"--config", config};
        image_body = R"({"image":")" + services->image + R"(","is_default":true})";
      }
      entry.server = std::make_unique<RunvoyServer>(flags);
      const auto image = entry.server->Call("POST", "/api/v1/images/register",
                                            entry.server->admin_key(), image_body);
      ASSERT_EQ(image.status, 201) << image.body;
      entry.developer = entry.server->CreateUser("git-dev@example.com", "developer");
    }
    server_ = entry.server.get();
    developer_ = &entry.developer;
  }

  static ProcessResult Run(const std::vector<std::string>& flags, const std::string& command) {
    std::vector<std::string> args = {"run"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(command);
    return server_->Cli(args, *developer_);
  }

  static json::value LastExecution() {
    const auto listed = server_->Call("GET", "/api/v1/executions?limit=1", *developer_);
    EXPECT_TRUE(listed.json.is_array()) << listed.body;
    if (!listed.json.is_array() || listed.json.as_array().empty())
      return nullptr;
    return listed.json.as_array()[0];
  }

  static std::string Logs(const json::value& execution) {
    const std::string id(execution.at("execution_id").as_string());
    return server_->Call("GET", "/api/v1/executions/" + id + "/logs", *developer_).body;
  }

  static void CreateSecret(const std::string& name, const std::string& value) {
    const auto created = server_->Call(
        "POST", "/api/v1/secrets", *developer_,
        json::serialize(json::object{{"name", name}, {"key_name", "GIT_TOKEN"}, {"value", value}}));
    ASSERT_EQ(created.status, 201) << created.body;
  }

  static std::string* base_;
  static TestRepos* repos_;
  static GitHttpServer* http_;
  static std::string* http_url_;
  static std::map<std::string, Server> servers_;
  static RunvoyServer* server_;
  static std::string* developer_;
};

std::string* GitTest::base_ = nullptr;
TestRepos* GitTest::repos_ = nullptr;
GitHttpServer* GitTest::http_ = nullptr;
std::string* GitTest::http_url_ = nullptr;
std::map<std::string, GitTest::Server> GitTest::servers_;
RunvoyServer* GitTest::server_ = nullptr;
std::string* GitTest::developer_ = nullptr;

INSTANTIATE_TEST_SUITE_P(Backends, GitTest,
                         ::testing::Values(Backend{"local-host"}, Backend{"docker"}),
                         BackendName);

TEST_P(GitTest, RunClonesTheDefaultBranchAndStartsInTheRepository) {
  const auto result = Run({"-g", repos_->FileUrl()}, "pwd; cat file");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "/workspace/repo\nmain-2\n");
  EXPECT_NE(result.err.find("### runvoy: repo " + repos_->FileUrl()), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("### runvoy: checked out " + repos_->main_sha), std::string::npos)
      << result.err;
  const auto last = LastExecution();
  EXPECT_EQ(last.at("status").as_string(), "SUCCEEDED");
}

TEST_P(GitTest, RunChecksOutABranchATagOrACommitAndStartsInThePath) {
  struct Case {
    std::string ref, path, out;
  };
  for (const Case& c : {Case{"feature", "", "/workspace/repo\nfeature\n"},
                        Case{"v1", "sub/deeper", "/workspace/repo/sub/deeper\nmain-1\n"},
                        Case{repos_->first_sha, "sub", "/workspace/repo/sub\nmain-1\n"}}) {
    std::vector<std::string> flags = {"-g", repos_->FileUrl(), "-r", c.ref};
    if (!c.path.empty())
      flags.insert(flags.end(), {"-p", c.path});
    const auto result = Run(flags, "pwd; cat /workspace/repo/file");
    ASSERT_EQ(result.exit_code, 0) << c.ref << ": " << result.err;
    EXPECT_EQ(result.out, c.out) << c.ref;
  }
}

TEST_P(GitTest, AMissingRefFailsWithOneAndTheReason) {
  const auto result = Run({"-g", repos_->FileUrl(), "-r", "no-such-branch"}, "echo never");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("no-such-branch"), std::string::npos) << result.err;
  const auto last = LastExecution();
  EXPECT_EQ(last.at("status").as_string(), "FAILED");
  EXPECT_EQ(last.at("exit_code").as_int64(), 1);
  EXPECT_NE(Logs(last).find("git clone of " + repos_->FileUrl() + " failed"), std::string::npos);
}

TEST_P(GitTest, AMissingPathFailsWithOne) {
  const auto result = Run({"-g", repos_->FileUrl(), "-p", "no/such/dir"}, "echo never");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("git_path no/such/dir does not exist in the repository"),
            std::string::npos)
      << result.err;
  const auto escaping = Run({"-g", repos_->FileUrl(), "-p", "sub/up"}, "echo never");
  EXPECT_EQ(escaping.exit_code, 1) << escaping.err;
  EXPECT_NE(escaping.err.find("leads out of the repository"), std::string::npos) << escaping.err;
}

TEST_P(GitTest, AParentSegmentInThePathIsRefusedByTheApi) {
  const auto refused = server_->Call(
      "POST", "/api/v1/run", *developer_,
      json::serialize(json::object{
          {"command", "true"}, {"git_repo", repos_->FileUrl()}, {"git_path", "sub/../../etc"}}));
  EXPECT_EQ(refused.status, 400) << refused.body;
}

TEST_P(GitTest, APrivateRepositoryClonesWithATokenSecretThatAppearsNowhere) {
  CreateSecret("git-token", kToken);
  const auto result =
      Run({"-g", *http_url_ + "/private/repo.git", "-r", "v1", "--secret", "git-token"},
          "cat file; echo \"token is $GIT_TOKEN\"");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "main-1\ntoken is ***\n");
  const auto last = LastExecution();
  EXPECT_EQ(last.at("status").as_string(), "SUCCEEDED");
  const std::string logs = Logs(last);
  EXPECT_NE(logs.find("checked out " + repos_->first_sha), std::string::npos) << logs;
  for (const std::string& needle :
       {std::string(kToken), testing_git::Base64("x-access-token:" + std::string(kToken))}) {
    EXPECT_EQ(result.out.find(needle), std::string::npos);
    EXPECT_EQ(result.err.find(needle), std::string::npos);
    EXPECT_EQ(logs.find(needle), std::string::npos);
    EXPECT_EQ(json::serialize(last).find(needle), std::string::npos);
    EXPECT_EQ(server_->Stderr().find(needle), std::string::npos);
    EXPECT_EQ(FilesContaining(server_->data_dir(), needle), std::vector<std::string>{});
  }
  ASSERT_TRUE(std::filesystem::is_regular_file(*base_ + "/git-server.log"));
  EXPECT_EQ(FilesContaining(*base_ + "/git-server.log", kToken), std::vector<std::string>{});
  // The search does look into the store: the execution's ID is there.
  EXPECT_FALSE(
      FilesContaining(server_->data_dir(), std::string(last.at("execution_id").as_string()))
          .empty());
}

TEST_P(GitTest, AWrongTokenFailsWithAReasonThatDoesNotShowIt) {
  const std::string wrong = "wrong-e2e-token-77d1c2b3a4";
  CreateSecret("wrong-token", wrong);
  const auto result =
      Run({"-g", *http_url_ + "/private/repo.git", "--secret", "wrong-token"}, "echo never");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("git clone of " + *http_url_ + "/private/repo.git failed"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find(wrong), std::string::npos) << result.err;
  const auto last = LastExecution();
  EXPECT_EQ(last.at("status").as_string(), "FAILED");
  EXPECT_EQ(Logs(last).find(wrong), std::string::npos);
  EXPECT_EQ(FilesContaining(server_->data_dir(), wrong), std::vector<std::string>{});
}

}  // namespace
}  // namespace runvoy::testing
