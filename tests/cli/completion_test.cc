#include "cli/completion.h"

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>
#include <unistd.h>

namespace runvoy::cli {
namespace {

class CompletionScripts : public ::testing::TestWithParam<std::string> {};

TEST_P(CompletionScripts, MentionEveryCommandAndSubcommand) {
  auto script = CompletionScript(GetParam());
  ASSERT_TRUE(script.has_value());
  for (const char* command :
       {"run", "logs", "status", "kill", "list", "claim", "configure", "users", "images", "secrets",
        "playbook", "health", "trace", "audit", "version", "completion", "server"}) {
    EXPECT_NE(script->find(command), std::string::npos) << command;
  }
  for (const auto& command : CompletionCommands()) {
    for (const auto& [name, description] : command.subcommands) {
      EXPECT_NE(script->find(name), std::string::npos) << command.name << " " << name;
    }
  }
  EXPECT_NE(script->find(GetParam() == "fish" ? "-l output" : "--output"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Shells, CompletionScripts, ::testing::Values("bash", "zsh", "fish"));

TEST(Completion, UnknownShellHasNoScript) {
  EXPECT_FALSE(CompletionScript("tcsh").has_value());
}

TEST(Completion, BashScriptRegistersTheFunction) {
  EXPECT_NE(CompletionScript("bash")->find("complete -o default -F _runvoy runvoy"),
            std::string::npos);
  EXPECT_NE(CompletionScript("zsh")->find("compdef _runvoy runvoy"), std::string::npos);
  EXPECT_NE(CompletionScript("fish")->find("complete -c runvoy"), std::string::npos);
}

}  // namespace
}  // namespace runvoy::cli

namespace runvoy::cli {
namespace {

// Runs the bash script for real: completes `words` (the last one being typed).
std::string BashComplete(const std::vector<std::string>& words) {
  char path[] = "/tmp/runvoy-completion-XXXXXX";
  const int fd = mkstemp(path);
  std::string script = *CompletionScript("bash");
  script += "COMP_WORDS=(";
  for (const auto& word : words)
    script += " '" + word + "'";
  script += " )\nCOMP_CWORD=" + std::to_string(words.size() - 1) + "\n_runvoy\n";
  script += "echo \"${COMPREPLY[*]}\"\n";
  EXPECT_EQ(write(fd, script.data(), script.size()), static_cast<ssize_t>(script.size()));
  close(fd);
  std::string output;
  if (FILE* pipe = popen(("bash " + std::string(path) + " 2>&1").c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
      output.append(buffer, n);
    pclose(pipe);
  }
  unlink(path);
  while (!output.empty() && output.back() == '\n')
    output.pop_back();
  return output;
}

TEST(Completion, BashCompletesCommandsSubcommandsAndFlags) {
  if (system("command -v bash >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no bash";
  EXPECT_EQ(BashComplete({"runvoy", "us"}), "users");
  EXPECT_EQ(BashComplete({"runvoy", "images", "re"}), "register");
  EXPECT_EQ(BashComplete({"runvoy", "logs", "--f"}), "--follow");
  EXPECT_EQ(BashComplete({"runvoy", "completion", "z"}), "zsh");
}

}  // namespace
}  // namespace runvoy::cli
