#include <fstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "cli/playbooks.h"
#include "test_support.h"

namespace runvoy::cli::testing {
namespace {

namespace json = boost::json;

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// Changes the working directory for one test.
class InDirectory {
 public:
  explicit InDirectory(const std::filesystem::path& dir) : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~InDirectory() { std::filesystem::current_path(old_); }

 private:
  std::filesystem::path old_;
};

TEST(Playbooks, ProjectPlaybooksHideHomeOnesAndConfigIsNotOne) {
  TempDir project;
  TempDir home;
  Write(project.path() / ".runvoy" / "build.yaml", "commands: [make]\n");
  Write(home.path() / ".runvoy" / "build.yml", "commands: [other]\n");
  Write(home.path() / ".runvoy" / "deploy.yml", "commands: [deploy]\n");
  Write(home.path() / ".runvoy" / "config.yaml", "api_endpoint: http://x\n");
  Write(home.path() / ".runvoy" / "notes.txt", "x\n");
  Environment env;
  env.vars["HOME"] = home.path().string();
  const auto files = FindPlaybooks(PlaybookDirs(project.path(), env));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "build");
  EXPECT_EQ(files[0].path, project.path() / ".runvoy" / "build.yaml");
  EXPECT_EQ(files[1].name, "deploy");
  EXPECT_FALSE(LoadPlaybook(PlaybookDirs(project.path(), env), "config").has_value());
}

TEST(Playbooks, RunAppliesParamsAndFlagOverrides) {
  CliRun cli;
  Write(cli.home.path() / ".runvoy" / "test.yaml",
        "description: run the tests\n"
        "image: alpine\n"
        "secrets: [db]\n"
        "env:\n  MODE: \"{{mode}}\"\n"
        "params:\n  mode: fast\n"
        "commands:\n  - make {{mode}}\n  - echo done\n");
  InDirectory cwd(cli.home.path());
  cli.api.Reply("POST", "/run", 202, R"({"execution_id":"e9","websocket_url":""})");
  EXPECT_EQ(cli.Run({"playbook", "run", "test", "--param", "mode=full", "-i", "debian", "--secret",
                     "token", "-e", "EXTRA=1", "-d"}),
            0)
      << cli.err.str();
  EXPECT_EQ(cli.out.str(), "e9\n");
  ASSERT_EQ(cli.api.calls.size(), 1u);
  EXPECT_EQ(json::parse(cli.api.calls[0].body),
            json::parse(R"({"command":"make full && echo done","image":"debian",)"
                        R"("env":{"MODE":"full","EXTRA":"1"},"secrets":["db","token"]})"));

  EXPECT_EQ(cli.Run({"playbook", "run", "test", "--param", "nope=1"}), 2);
  EXPECT_EQ(cli.api.calls.size(), 1u);

  EXPECT_EQ(cli.Run({"playbook", "list"}), 0);
  EXPECT_TRUE(cli.out.str().find("test  run the tests") != std::string::npos) << cli.out.str();
  EXPECT_EQ(cli.Run({"playbook", "show", "test"}), 0);
  EXPECT_TRUE(cli.out.str().find("make {{mode}} && echo done") != std::string::npos);
}

}  // namespace
}  // namespace runvoy::cli::testing
