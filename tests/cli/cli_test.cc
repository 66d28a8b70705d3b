#include "cli/cli.h"

#include <fstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cli/commands/commands.h"
#include "cli/config_store.h"
#include "test_support.h"

namespace runvoy::cli::testing {
namespace {

namespace json = boost::json;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// --- usage errors (exit 2) -------------------------------------------------------------

class UsageErrors : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(UsageErrors, ExitTwoWithAOneLineMessage) {
  CliRun cli;
  EXPECT_EQ(cli.Run(GetParam()), 2);
  EXPECT_EQ(cli.err.str().rfind("✗ ", 0), 0u) << cli.err.str();
  EXPECT_TRUE(cli.api.calls.empty());
}

INSTANTIATE_TEST_SUITE_P(
    EveryCommand, UsageErrors,
    ::testing::Values(
        std::vector<std::string>{"frobnicate"},
        std::vector<std::string>{"--output", "yaml", "list"},
        std::vector<std::string>{"--timeout", "soon", "list"}, std::vector<std::string>{"run"},
        std::vector<std::string>{"run", "-e", "NOEQUALS", "true"},
        std::vector<std::string>{"run", "--run-timeout", "x", "true"},
        std::vector<std::string>{"run", "--bogus", "true"}, std::vector<std::string>{"logs"},
        std::vector<std::string>{"status"}, std::vector<std::string>{"kill"},
        std::vector<std::string>{"list", "--limit", "-1"},
        std::vector<std::string>{"list", "--status", "DONE"}, std::vector<std::string>{"claim"},
        std::vector<std::string>{"users"}, std::vector<std::string>{"users", "create", "a@b.c"},
        std::vector<std::string>{"users", "create", "a@b.c", "--role", "king"},
        std::vector<std::string>{"users", "revoke"}, std::vector<std::string>{"images"},
        std::vector<std::string>{"images", "register"},
        std::vector<std::string>{"images", "register", "x", "--cpu", "-5"},
        std::vector<std::string>{"images", "show"},
        std::vector<std::string>{"images", "unregister"},
        std::vector<std::string>{"secrets", "create", "n", "K"},
        std::vector<std::string>{"secrets", "get"},
        std::vector<std::string>{"secrets", "update", "n"},
        std::vector<std::string>{"secrets", "delete"}, std::vector<std::string>{"trace"},
        std::vector<std::string>{"completion"}, std::vector<std::string>{"completion", "tcsh"},
        std::vector<std::string>{"playbook"}, std::vector<std::string>{"playbook", "show"},
        std::vector<std::string>{"playbook", "run", "nope"},
        std::vector<std::string>{"configure", "--endpoint", "ftp://x", "--api-key", "k"}));

TEST(Cli, HelpListsCommandsAndTheServer) {
  CliRun cli;
  EXPECT_EQ(cli.Run({"--help"}), 0);
  for (const char* command : {"run", "logs", "users", "images", "secrets", "playbook", "health",
                              "completion", "server"}) {
    EXPECT_TRUE(Contains(cli.out.str(), command)) << command;
  }
}

TEST(Cli, VersionFlagPrintsTheClientVersion) {
  CliRun cli;
  EXPECT_EQ(cli.Run({"--version"}), 0);
  EXPECT_EQ(cli.out.str(), std::string(ClientVersion()) + "\n");
}

TEST(Cli, ConfigureWithoutFlagsOffATerminalIsAUsageError) {
  CliRun cli;
  EXPECT_EQ(cli.Run({"configure"}), 2);
}

// --- API errors (exit 1) ---------------------------------------------------------------

TEST(Cli, ApiErrorShowsTheServerMessageAndCode) {
  CliRun cli;
  cli.api.Error("GET", "/executions/nope/status",
                {core::ErrorCode::kNotFound, "execution not found", {}});
  EXPECT_EQ(cli.Run({"status", "nope"}), 1);
  EXPECT_EQ(cli.err.str(), "✗ execution not found (NOT_FOUND)\n");
  EXPECT_EQ(cli.out.str(), "");
}

TEST(Cli, UnreachableServerShowsTheUrlWithoutACode) {
  CliRun cli;
  cli.api.Error("GET", "/users",
                {core::ErrorCode::kServiceUnavailable, "cannot reach the runvoy server at http://x",
                 "Connection refused"});
  EXPECT_EQ(cli.Run({"users", "list"}), 1);
  EXPECT_EQ(cli.err.str(), "✗ cannot reach the runvoy server at http://x: Connection refused\n");
}

TEST(Cli, NotConfiguredSaysHowToConfigure) {
  CliRun cli;
  cli.env.vars.erase("RUNVOY_API_ENDPOINT");
  EXPECT_EQ(cli.Run({"list"}), 1);
  EXPECT_TRUE(Contains(cli.err.str(), "runvoy configure")) << cli.err.str();
  EXPECT_FALSE(Contains(cli.err.str(), "INVALID_REQUEST"));
  EXPECT_EQ(cli.Run({"run", "true"}), 125);
  EXPECT_EQ(cli.Run({"logs", "-f", "e1"}), 125);

  std::filesystem::create_directories(cli.home.path() / ".runvoy");
  std::ofstream(cli.home.path() / ".runvoy" / "config.yaml") << "api_endpoint: [broken\n";
  EXPECT_EQ(cli.Run({"list"}), 1);
  EXPECT_TRUE(Contains(cli.err.str(), "config.yaml")) << cli.err.str();
}

// --- configuration -----------------------------------------------------------------------

TEST(Cli, ConfigureWritesAPrivateConfigFileThatIsUsed) {
  CliRun cli;
  cli.env.vars.erase("RUNVOY_API_ENDPOINT");
  cli.env.vars.erase("RUNVOY_API_KEY");
  EXPECT_EQ(cli.Run({"configure", "--endpoint", "http://127.0.0.1:56212/api/v1", "--api-key",
                     "abcdefghijklmnopqrstuvwxyz"}),
            0)
      << cli.err.str();
  const auto path = cli.home.path() / ".runvoy" / "config.yaml";
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  cli.api.Reply("GET", "/users", 200, R"({"users":[]})");
  EXPECT_EQ(cli.Run({"users", "list"}), 0);
  EXPECT_EQ(cli.last_options.base_url, "http://127.0.0.1:56212/api/v1");
  EXPECT_EQ(cli.last_options.api_key, "abcdefghijklmnopqrstuvwxyz");

  cli.env.vars["RUNVOY_API_KEY"] = "from-the-environment-key";
  EXPECT_EQ(cli.Run({"users", "list"}), 0);
  EXPECT_EQ(cli.last_options.api_key, "from-the-environment-key");
}

TEST(Cli, ConfigurePromptsOnATerminal) {
  CliRun cli;
  cli.terminal.stdin_tty = true;
  cli.in.str("http://h:9\nmy-key-0123456789abcdef\n\n");
  EXPECT_EQ(cli.Run({"configure"}), 0) << cli.err.str();
  auto config = LoadConfigFile(cli.home.path() / ".runvoy" / "config.yaml");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->api_endpoint, "http://h:9");
  EXPECT_EQ(config->api_key, "my-key-0123456789abcdef");
  EXPECT_TRUE(Contains(cli.err.str(), "Server URL"));
}

TEST(Cli, ClaimSavesTheKeyWithTheEndpoint) {
  CliRun cli;
  cli.env.vars.erase("RUNVOY_API_KEY");
  cli.api.Reply("GET", "/claim/tok123", 200,
                R"({"api_key":"claimed-key-0123456789ab","user_email":"a@b.c","message":"ok"})");
  EXPECT_EQ(cli.Run({"claim", "tok123"}), 0) << cli.err.str();
  auto config = LoadConfigFile(cli.home.path() / ".runvoy" / "config.yaml");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->api_key, "claimed-key-0123456789ab");
  EXPECT_EQ(config->api_endpoint, "http://runvoy.test:1234");
  EXPECT_FALSE(Contains(cli.out.str(), "claimed-key"));
}

// --- records and tables ------------------------------------------------------------------

TEST(Cli, StatusPrintsARecordAndJsonPrintsTheBodyAsIs) {
  CliRun cli;
  const std::string body =
      R"({"execution_id":"e1","status":"SUCCEEDED","command":"true","image_id":"i","started_at":"2026-11-30T05:00:00Z","exit_code":0})";
  cli.api.Reply("GET", "/executions/e1/status", 200, body);
  EXPECT_EQ(cli.Run({"status", "e1"}), 0);
  EXPECT_TRUE(Contains(cli.out.str(), "status:       SUCCEEDED\n")) << cli.out.str();
  EXPECT_TRUE(Contains(cli.out.str(), "exit_code:    0\n"));
  EXPECT_EQ(cli.Run({"-o", "json", "status", "e1"}), 0);
  EXPECT_EQ(cli.out.str(), body + "\n");
  EXPECT_EQ(cli.Run({"status", "e1", "--output", "json"}), 0);
  EXPECT_EQ(cli.out.str(), body + "\n");
}

TEST(Cli, ListSendsFiltersAndPrintsATable) {
  CliRun cli;
  cli.api.Reply(
      "GET", "/executions?limit=5&status=RUNNING%2CFAILED", 200,
      R"([{"execution_id":"e1","status":"FAILED","exit_code":2,"created_by":"a@b.c","started_at":"2026-11-30T05:00:00Z","duration_seconds":75,"command":"make test"}])");
  EXPECT_EQ(cli.Run({"list", "--limit", "5", "--status", "running,FAILED"}), 0) << cli.err.str();
  EXPECT_EQ(cli.out.str(),
            "EXECUTION ID  STATUS  EXIT  USER   STARTED               DURATION  COMMAND\n"
            "e1            FAILED  2     a@b.c  2026-11-30T05:00:00Z  1m15s     make test\n");
}

TEST(Cli, UsersCreateSendsTheRequestAndPrintsTheClaimToken) {
  CliRun cli;
  cli.api.Reply(
      "POST", "/users/create", 201,
      R"({"user":{"email":"d@x.io","role":"developer","status":"pending"},"claim_token":"ct1"})");
  EXPECT_EQ(cli.Run({"users", "create", "d@x.io", "--role", "developer"}), 0) << cli.err.str();
  ASSERT_EQ(cli.api.calls.size(), 1u);
  EXPECT_EQ(json::parse(cli.api.calls[0].body),
            json::parse(R"({"email":"d@x.io","role":"developer"})"));
  EXPECT_TRUE(Contains(cli.out.str(), "claim_token: ct1"));
  EXPECT_TRUE(Contains(cli.err.str(), "runvoy claim ct1"));
}

TEST(Cli, ImagesAndSecretsUseTheirRoutes) {
  CliRun cli;
  cli.api.Reply("POST", "/images/register", 201,
                R"({"image":{},"image_id":"ubuntu:22.04-1a2b3c4d","message":"registered"})");
  EXPECT_EQ(cli.Run({"images", "register", "ubuntu:22.04", "--default", "--cpu", "512",
                     "--runtime-platform", "Linux/ARM64"}),
            0);
  EXPECT_EQ(
      json::parse(cli.api.calls.back().body),
      json::parse(
          R"({"image":"ubuntu:22.04","is_default":true,"cpu":512,"runtime_platform":"Linux/ARM64"})"));
  EXPECT_EQ(cli.out.str(), "ubuntu:22.04-1a2b3c4d\n");

  cli.api.Reply("GET", "/images/docker.io/library/ubuntu:22.04", 200,
                R"({"image_id":"ubuntu:22.04-1a2b3c4d","image":"ubuntu:22.04","is_default":true})");
  EXPECT_EQ(cli.Run({"images", "show", "docker.io/library/ubuntu:22.04"}), 0);
  EXPECT_TRUE(Contains(cli.out.str(), "is_default: true"));

  cli.api.Reply(
      "GET", "/images", 200,
      R"({"images":[{"image_id":"a-1","image":"a","is_default":true,"cpu":256,"memory":512,"runtime_platform":"Linux/X86_64"}]})");
  EXPECT_EQ(cli.Run({"images", "list"}), 0);
  EXPECT_EQ(cli.out.str(),
            "IMAGE ID  IMAGE  DEFAULT  CPU  MEMORY  PLATFORM\n"
            "a-1       a      yes      256  512     Linux/X86_64\n");

  cli.api.Reply("PUT", "/secrets/db", 200, R"({"message":"updated"})");
  EXPECT_EQ(cli.Run({"secrets", "update", "db", "--value", "s3cret!"}), 0);
  EXPECT_EQ(json::parse(cli.api.calls.back().body), json::parse(R"({"value":"s3cret!"})"));

  cli.api.Reply(
      "GET", "/secrets", 200,
      R"({"secrets":[{"name":"db","key_name":"DB_PASSWORD","created_by":"a@b.c","updated_at":"t"}],"total":1})");
  EXPECT_EQ(cli.Run({"secrets", "list"}), 0);
  EXPECT_TRUE(Contains(cli.out.str(), "db    DB_PASSWORD  -            a@b.c       t"))
      << cli.out.str();
}

TEST(Cli, KillReportsAlreadyFinishedOnNoContent) {
  CliRun cli;
  cli.api.Reply("DELETE", "/executions/e1", 204, "");
  EXPECT_EQ(cli.Run({"kill", "e1"}), 0);
  EXPECT_TRUE(Contains(cli.err.str(), "already finished"));
  cli.api.Reply("DELETE", "/executions/e2", 200, R"({"execution_id":"e2","message":"stopping"})");
  EXPECT_EQ(cli.Run({"kill", "e2"}), 0);
  EXPECT_EQ(cli.err.str(), "✓ stopping\n");
}

TEST(Cli, HealthAndReconcile) {
  CliRun cli;
  cli.api.Reply("GET", "/health", 200, R"({"status":"ok","version":"0.1.0","provider":"local"})");
  EXPECT_EQ(cli.Run({"health"}), 0);
  EXPECT_EQ(cli.out.str(), "status:   ok\nversion:  0.1.0\nprovider: local\n");
  cli.api.Reply(
      "POST", "/health/reconcile", 200,
      R"({"status":"ok","report":{"reconciled_count":1,"error_count":0,"issues":[{"resource_type":"execution","resource_id":"e1","severity":"warning","message":"gone","action":"marked FAILED"}]}})");
  EXPECT_EQ(cli.Run({"health", "reconcile"}), 0);
  EXPECT_TRUE(Contains(cli.out.str(), "reconciled_count:  1"));
  EXPECT_TRUE(Contains(cli.out.str(), "warning   execution  e1"));
}

TEST(Cli, VersionShowsClientAndServer) {
  CliRun cli;
  cli.api.Reply("GET", "/health", 200, R"({"status":"ok","version":"9.9.9"})");
  EXPECT_EQ(cli.Run({"version"}), 0);
  EXPECT_TRUE(Contains(cli.out.str(), "runvoy "));
  EXPECT_TRUE(Contains(cli.out.str(), "server 9.9.9"));
  cli.env.vars.erase("RUNVOY_API_ENDPOINT");
  EXPECT_EQ(cli.Run({"version"}), 0);
  EXPECT_FALSE(Contains(cli.out.str(), "server"));
}

TEST(Cli, CompletionPrintsAScript) {
  CliRun cli;
  EXPECT_EQ(cli.Run({"completion", "fish"}), 0);
  EXPECT_TRUE(Contains(cli.out.str(), "complete -c runvoy"));
}

// --- run and logs ------------------------------------------------------------------------

const char* kRunReply =
    R"({"execution_id":"e1","status":"STARTING","command":"echo hi","image_id":"i","log_url":"","websocket_url":"ws://127.0.0.1:1/api/v1/ws?execution_id=e1&token=t"})";

TEST(Cli, RunDetachedPrintsTheExecutionId) {
  CliRun cli;
  cli.env.vars["RUNVOY_USER_GREETING"] = "hello";
  cli.api.Reply("POST", "/run", 202, kRunReply);
  EXPECT_EQ(cli.Run({"run", "-d", "-i", "alpine", "--secret", "db", "-e", "A=1", "-e", "B=2",
                     "echo", "-n", "$GREETING"}),
            0)
      << cli.err.str();
  EXPECT_EQ(cli.out.str(), "e1\n");
  EXPECT_EQ(
      json::parse(cli.api.calls[0].body),
      json::parse(
          R"({"command":"echo -n $GREETING","image":"alpine","env":{"GREETING":"hello","A":"1","B":"2"},"secrets":["db"]})"));
}

TEST(Cli, RunFollowsTheOutputAndExitsWithTheRemoteExitCode) {
  CliRun cli;
  cli.api.Reply("POST", "/run", 202, kRunReply);
  cli.api.Reply(
      "GET", "/executions/e1/logs", 200,
      R"({"execution_id":"e1","status":"FAILED","events":[{"event_id":"1","timestamp":1,"message":"### runvoy: request r","stream":"runvoy"},{"event_id":"2","timestamp":2,"message":"hi"}]})");
  cli.api.Reply("GET", "/executions/e1/status", 200, R"({"status":"FAILED","exit_code":42})");
  EXPECT_EQ(cli.Run({"run", "--", "echo", "hi"}), 42) << cli.err.str();
  EXPECT_EQ(cli.out.str(), "hi\n");
  EXPECT_TRUE(Contains(cli.err.str(), "execution e1"));
  EXPECT_TRUE(Contains(cli.err.str(), "http://runvoy.test:1234/logs?execution_id=e1"));
  EXPECT_TRUE(Contains(cli.err.str(), "### runvoy: request r\n"));
}

TEST(Cli, RunTakesEverythingAfterTheFirstWordAsTheCommand) {
  CliRun cli;
  cli.api.Reply("POST", "/run", 202, kRunReply);
  EXPECT_EQ(cli.Run({"--timeout", "30s", "run", "-d", "--", "-weird", "--image", "x"}), 0)
      << cli.err.str();
  EXPECT_EQ(json::parse(cli.api.calls.back().body),
            json::parse(R"({"command":"-weird --image x"})"));
  EXPECT_EQ(cli.Run({"run", "-d", "ls", "-la", "--", "-o", "json"}), 0) << cli.err.str();
  EXPECT_EQ(json::parse(cli.api.calls.back().body),
            json::parse(R"({"command":"ls -la -- -o json"})"));
}

TEST(Cli, RunExits125WhenRunvoyFails) {
  CliRun cli;
  cli.api.Error("POST", "/run", {core::ErrorCode::kForbidden, "cannot use secret db", {}});
  EXPECT_EQ(cli.Run({"run", "--secret", "db", "env"}), 125);
  EXPECT_EQ(cli.err.str(), "✗ cannot use secret db (FORBIDDEN)\n");

  cli.api.Reply("POST", "/run", 202, kRunReply);
  cli.api.Error("GET", "/executions/e1/logs", {core::ErrorCode::kInvalidApiKey, "bad key", {}});
  EXPECT_EQ(cli.Run({"run", "env"}), 125);
}

TEST(Cli, LogsPrintsRawLinesOffATerminalAndATableOnOne) {
  CliRun cli;
  cli.api.Reply(
      "GET", "/executions/e1/logs", 200,
      R"({"execution_id":"e1","status":"SUCCEEDED","events":[{"event_id":"1","timestamp":0,"message":"a","stream":"stdout","partial":true},{"event_id":"2","timestamp":0,"message":"b"},{"event_id":"3","timestamp":0,"message":"warn","stream":"stderr"}],"next_after":"3"})");
  cli.api.Reply(
      "GET", "/executions/e1/logs?after=3", 200,
      R"({"execution_id":"e1","status":"SUCCEEDED","events":[{"event_id":"4","timestamp":0,"message":"c"}]})");
  EXPECT_EQ(cli.Run({"logs", "e1"}), 0);
  EXPECT_EQ(cli.out.str(), "ab\nc\n");
  EXPECT_EQ(cli.err.str(), "warn\n");

  cli.terminal.stdout_tty = true;
  cli.env.vars["NO_COLOR"] = "1";
  EXPECT_EQ(cli.Run({"logs", "e1"}), 0);
  EXPECT_TRUE(Contains(cli.out.str(), "Line | Timestamp (UTC)          | Message\n"));
  EXPECT_TRUE(Contains(cli.out.str(), "   1 | 1970-01-01T00:00:00Z     | ab\n")) << cli.out.str();
  EXPECT_TRUE(Contains(cli.out.str(), "   3 | 1970-01-01T00:00:00Z     | c\n"));
  EXPECT_EQ(cli.Run({"logs", "--raw", "e1"}), 0);
  EXPECT_EQ(cli.out.str(), "ab\nc\n");
}

TEST(Cli, LogsFollowOfAFinishedExecutionExitsWithItsCode) {
  CliRun cli;
  cli.api.Reply(
      "GET", "/executions/e1/logs", 200,
      R"({"execution_id":"e1","status":"FAILED","events":[{"event_id":"1","timestamp":0,"message":"x"}]})");
  cli.api.Reply("GET", "/executions/e1/logs?after=1", 200,
                R"({"execution_id":"e1","status":"FAILED","events":[]})");
  cli.api.Reply("GET", "/executions/e1/status", 200, R"({"status":"FAILED","exit_code":3})");
  EXPECT_EQ(cli.Run({"logs", "-f", "e1"}), 3);
  EXPECT_EQ(cli.out.str(), "x\n");
  cli.api.Error("GET", "/executions/e2/logs", {core::ErrorCode::kNotFound, "not found", {}});
  EXPECT_EQ(cli.Run({"logs", "-f", "e2"}), 125);
  EXPECT_EQ(cli.Run({"logs", "e2"}), 1);
}

}  // namespace
}  // namespace runvoy::cli::testing
