// Playbooks end to end (SPEC.md §4): the examples in examples/playbooks/ run through the real
// CLI against the real server (local sandbox, `host` image) from a project directory holding
// them in .runvoy/.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// examples/playbooks of the source tree: next to this file's folder, or above the binary
// under test (the build directory lives in the source tree).
fs::path ExamplesDir() {
  std::vector<fs::path> starts = {fs::path(__FILE__).parent_path(), fs::path(RunvoyBinary())};
  for (fs::path dir : starts) {
    for (; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
      if (fs::is_regular_file(dir / "examples" / "playbooks" / "hello.yaml")) {
        return dir / "examples" / "playbooks";
      }
    }
  }
  return {};
}

std::size_t LineCount(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Runs the CLI from `dir` (playbooks are looked up in ./.runvoy/).
class InDirectory {
 public:
  explicit InDirectory(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~InDirectory() { fs::current_path(old_); }

 private:
  fs::path old_;
};

class PlaybookTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new RunvoyServer();
    const auto image = server_->RegisterHostImage();
    ASSERT_EQ(image.status, 201) << image.body;
    developer_ = server_->CreateUser("dev@example.com", "developer");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    const fs::path examples = ExamplesDir();
    ASSERT_FALSE(examples.empty()) << "examples/playbooks not found";
    project_ = MakeTempDir("runvoy-playbooks");
    fs::create_directories(project_ / ".runvoy");
    for (const auto& entry : fs::directory_iterator(examples)) {
      fs::copy_file(entry.path(), project_ / ".runvoy" / entry.path().filename());
    }
    // The CLI's own configuration file sits beside the playbooks and is never one.
    std::ofstream(project_ / ".runvoy" / "config.yaml") << "api_endpoint: http://127.0.0.1:1\n";
  }
  void TearDown() override { fs::remove_all(project_); }

  void WritePlaybook(const std::string& name, const std::string& yaml) {
    std::ofstream(project_ / ".runvoy" / (name + ".yaml")) << yaml;
  }

  ProcessResult Playbook(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {}) {
    InDirectory cwd(project_);
    std::vector<std::string> all = {"playbook"};
    all.insert(all.end(), args.begin(), args.end());
    return server_->Cli(all, developer_, env);
  }

  static std::size_t ExecutionCount() {
    const auto listed = server_->Call("GET", "/api/v1/executions?limit=0", server_->admin_key());
    EXPECT_EQ(listed.status, 200) << listed.body;
    return listed.json.is_array() ? listed.json.as_array().size() : 0;
  }

  // The newest execution's record.
  static json::object LastExecution() {
    const auto listed = server_->Call("GET", "/api/v1/executions?limit=1", server_->admin_key());
    EXPECT_EQ(listed.status, 200) << listed.body;
    if (!listed.json.is_array() || listed.json.as_array().empty()) return {};
    return listed.json.as_array()[0].as_object();
  }

  static RunvoyServer* server_;
  static std::string developer_;
  fs::path project_;
};

RunvoyServer* PlaybookTest::server_ = nullptr;
std::string PlaybookTest::developer_;

TEST_F(PlaybookTest, ListShowsEveryExampleButNotTheConfigFile) {
  const auto listed = Playbook({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  for (const char* name : {"hello", "disk-usage", "failing", "uses-secret"}) {
    EXPECT_NE(listed.out.find(name), std::string::npos) << name << "\n" << listed.out;
  }
  EXPECT_NE(listed.out.find("Greet someone from the sandbox"), std::string::npos);
  EXPECT_EQ(listed.out.find("config"), std::string::npos) << listed.out;

  const auto as_json = [&] {
    InDirectory cwd(project_);
    return server_->Cli({"-o", "json", "playbook", "list"}, developer_);
  }();
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  std::vector<std::string> names;
  const json::value listed_json = json::parse(as_json.out);
  for (const auto& item : listed_json.at("playbooks").as_array()) {
    names.emplace_back(item.at("name").as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"disk-usage", "failing", "hello", "uses-secret"}));

  const auto shown = Playbook({"show", "hello"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("echo \"$GREETING, {{name}}!\" && echo \"working directory $(pwd)\""),
            std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("world"), std::string::npos) << shown.out;

  const auto config = Playbook({"show", "config"});
  EXPECT_NE(config.exit_code, 0);
  const auto config_run = Playbook({"run", "config"});
  EXPECT_NE(config_run.exit_code, 0);
  EXPECT_EQ(LineCount(config_run.err), 1u) << config_run.err;
}

TEST_F(PlaybookTest, HelloRunsWithItsDefaultsAndWithParams) {
  const auto hello = Playbook({"run", "hello"});
  ASSERT_EQ(hello.exit_code, 0) << hello.err;
  EXPECT_EQ(hello.out, "Hello, world!\nworking directory /workspace\n");
  const json::object record = LastExecution();
  EXPECT_EQ(record.at("command"),
            "echo \"$GREETING, world!\" && echo \"working directory $(pwd)\"");
  EXPECT_EQ(record.at("status"), "SUCCEEDED");

  const auto named =
      Playbook({"run", "hello", "--param", "name=runvoy", "--param", "greeting=Bonjour"});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(named.out, "Bonjour, runvoy!\nworking directory /workspace\n");
}

TEST_F(PlaybookTest, DiskUsageShowsTheFileSystemOfThePath) {
  const auto usage = Playbook({"run", "disk-usage", "--param", "path=/tmp"});
  ASSERT_EQ(usage.exit_code, 0) << usage.err;
  EXPECT_EQ(usage.out.rfind("Filesystem", 0), 0u) << usage.out;
  EXPECT_NE(usage.out.find("checked /tmp\n"), std::string::npos) << usage.out;
}

TEST_F(PlaybookTest, FailingExitsWithTheChosenCode) {
  const auto failed = Playbook({"run", "failing"});
  EXPECT_EQ(failed.exit_code, 3);
  EXPECT_EQ(failed.out, "");
  EXPECT_NE(failed.err.find("about to exit with 3\n"), std::string::npos) << failed.err;
  EXPECT_EQ(LastExecution().at("status"), "FAILED");

  const auto chosen = Playbook({"run", "failing", "--param", "code=42"});
  EXPECT_EQ(chosen.exit_code, 42);
  EXPECT_EQ(LastExecution().at("exit_code"), 42);
}

TEST_F(PlaybookTest, AnUndeclaredParamOrAnUnfilledPlaceholderFailsBeforeAnythingRuns) {
  WritePlaybook("unfilled", "commands:\n  - echo {{target}}\n");
  WritePlaybook("required", "params:\n  target:\ncommands:\n  - echo {{target}}\n");
  const std::size_t before = ExecutionCount();

  const auto undeclared = Playbook({"run", "hello", "--param", "nmae=typo"});
  EXPECT_EQ(undeclared.exit_code, 2);
  EXPECT_NE(undeclared.err.find("nmae"), std::string::npos) << undeclared.err;
  EXPECT_EQ(LineCount(undeclared.err), 1u) << undeclared.err;

  const auto unfilled = Playbook({"run", "unfilled"});
  EXPECT_EQ(unfilled.exit_code, 2);
  EXPECT_NE(unfilled.err.find("{{target}}"), std::string::npos) << unfilled.err;

  const auto missing = Playbook({"run", "required"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--param target="), std::string::npos) << missing.err;

  const auto malformed = Playbook({"run", "hello", "--param", "no-equals-sign"});
  EXPECT_EQ(malformed.exit_code, 2);

  EXPECT_EQ(ExecutionCount(), before);
  const auto given = Playbook({"run", "required", "--param", "target=set"});
  EXPECT_EQ(given.exit_code, 0) << given.err;
  EXPECT_EQ(given.out, "set\n");
}

TEST_F(PlaybookTest, FlagsOverrideTheFileAndSecretsAreAppended) {
  // A second registration of `host` with other limits has an ID of its own.
  const auto other = server_->Call("POST", "/api/v1/images/register", server_->admin_key(),
                                   R"({"image":"host","cpu":512,"memory":256})");
  ASSERT_EQ(other.status, 201) << other.body;
  const std::string other_id(other.json.at("image_id").as_string());
  const auto on_other = Playbook({"run", "hello", "-i", other_id, "-e", "GREETING=Hey"});
  ASSERT_EQ(on_other.exit_code, 0) << on_other.err;
  EXPECT_EQ(on_other.out, "Hey, world!\nworking directory /workspace\n");
  EXPECT_EQ(LastExecution().at("image_id"), other_id.c_str());

  for (const auto& [name, key] :
       std::map<std::string, std::string>{{"api-token", "API_TOKEN"}, {"extra-token", "EXTRA"}}) {
    const auto created = server_->Call(
        "POST", "/api/v1/secrets", developer_,
        json::serialize(json::object{{"name", name}, {"key_name", key}, {"value", name + "-v"}}));
    ASSERT_EQ(created.status, 201) << created.body;
  }
  WritePlaybook("both-secrets",
                "secrets: [api-token]\n"
                "commands:\n  - 'echo \"${#API_TOKEN} ${#EXTRA}\"'\n");
  const auto appended = Playbook({"run", "both-secrets", "--secret", "extra-token"});
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  EXPECT_EQ(appended.out, "11 13\n");
  const auto secrets = LastExecution().at("request").at("secrets").as_array();
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets[0], "api-token");
  EXPECT_EQ(secrets[1], "extra-token");

  const auto example = Playbook({"run", "uses-secret"});
  ASSERT_EQ(example.exit_code, 0) << example.err;
  EXPECT_EQ(example.out, "API_TOKEN has 11 characters\nprinted it anyway: ***\n");

  WritePlaybook("slow", "commands:\n  - sleep 30\n");
  const auto timed_out = Playbook({"run", "slow", "--run-timeout", "1s"});
  EXPECT_EQ(timed_out.exit_code, 124) << timed_out.err;
}

TEST_F(PlaybookTest, RunvoyUserVariablesOverlayTheFilesEnvAndFlagsWin) {
  const auto overlaid =
      Playbook({"run", "hello"}, {{"RUNVOY_USER_GREETING", "Hi"}, {"RUNVOY_USER_UNUSED", "x"}});
  ASSERT_EQ(overlaid.exit_code, 0) << overlaid.err;
  EXPECT_EQ(overlaid.out, "Hi, world!\nworking directory /workspace\n");
  const auto env_keys = LastExecution().at("request").at("env_keys").as_array();
  EXPECT_NE(std::find(env_keys.begin(), env_keys.end(), json::value("UNUSED")), env_keys.end());

  const auto flag_wins =
      Playbook({"run", "hello", "-e", "GREETING=Yo"}, {{"RUNVOY_USER_GREETING", "Hi"}});
  ASSERT_EQ(flag_wins.exit_code, 0) << flag_wins.err;
  EXPECT_EQ(flag_wins.out, "Yo, world!\nworking directory /workspace\n");
}

TEST_F(PlaybookTest, DetachPrintsTheExecutionId) {
  const auto detached = Playbook({"run", "hello", "-d"});
  ASSERT_EQ(detached.exit_code, 0) << detached.err;
  ASSERT_EQ(detached.out.size(), 33u) << detached.out;
  EXPECT_EQ(LastExecution().at("execution_id"), detached.out.substr(0, 32).c_str());
}

}  // namespace
}  // namespace runvoy::testing
