#include "cli/commands/run_request.h"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace runvoy::cli {
namespace {

namespace json = boost::json;

TEST(RunRequest, CommandWordsAreJoinedWithSpaces) {
  RunArgs args;
  args.command_words = {"--", "echo", "hello world", "&&", "ls", "-la"};
  auto request = BuildRunRequest(args, {});
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(json::serialize(*request), R"({"command":"echo hello world && ls -la"})");
}

TEST(RunRequest, EmptyCommandIsRefused) {
  RunArgs args;
  EXPECT_FALSE(BuildRunRequest(args, {}).has_value());
  args.command_words = {"--"};
  EXPECT_FALSE(BuildRunRequest(args, {}).has_value());
}

TEST(RunRequest, CallerRunvoyUserVariablesArePassedWithoutThePrefix) {
  Environment env;
  env.vars["RUNVOY_USER_TOKEN"] = "from-env";
  env.vars["RUNVOY_USER_REGION"] = "eu";
  env.vars["RUNVOY_USER_"] = "ignored";
  env.vars["RUNVOY_API_KEY"] = "never passed";
  env.vars["PATH"] = "/bin";
  RunArgs args;
  args.command_words = {"env"};
  args.env = {"REGION=us", "EMPTY="};
  auto request = BuildRunRequest(args, env);
  ASSERT_TRUE(request.has_value());
  const json::object& vars = request->at("env").as_object();
  EXPECT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars.at("TOKEN"), "from-env");
  EXPECT_EQ(vars.at("REGION"), "us");  // -e wins
  EXPECT_EQ(vars.at("EMPTY"), "");
}

TEST(RunRequest, FlagsBecomeFields) {
  RunArgs args;
  args.command_words = {"make", "test"};
  args.image = "ubuntu:22.04";
  args.git_repo = "https://example.com/r.git";
  args.git_ref = "main";
  args.git_path = "sub";
  args.secrets = {"db", "token"};
  args.run_timeout = "1m30s";
  auto request = BuildRunRequest(args, {});
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(
      json::serialize(*request),
      R"({"command":"make test","image":"ubuntu:22.04","git_repo":"https://example.com/r.git",)"
      R"("git_ref":"main","git_path":"sub","secrets":["db","token"],"timeout":90})");
}

TEST(RunRequest, BadFlagsAreRefusedWithAMessage) {
  RunArgs args;
  args.command_words = {"x"};
  args.env = {"NOEQUALS"};
  EXPECT_NE(BuildRunRequest(args, {}).error().message.find("K=V"), std::string::npos);
  args.env = {"1BAD=x"};
  EXPECT_FALSE(BuildRunRequest(args, {}).has_value());
  args.env = {};
  args.run_timeout = "soon";
  EXPECT_NE(BuildRunRequest(args, {}).error().message.find("--run-timeout"), std::string::npos);
  args.run_timeout = "";
  args.git_ref = "main";
  EXPECT_FALSE(BuildRunRequest(args, {}).has_value());
}

TEST(RunRequest, SubSecondTimeoutsRoundUp) {
  RunArgs args;
  args.command_words = {"x"};
  args.run_timeout = "1500ms";
  EXPECT_EQ(BuildRunRequest(args, {})->at("timeout").as_int64(), 2);
}

}  // namespace
}  // namespace runvoy::cli
