// Start-up configuration errors stop the server with one line saying what to fix (SPEC.md §3).

#include <algorithm>
#include <csignal>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

ProcessResult StartServer(const std::vector<std::string>& flags,
                          const std::map<std::string, std::string>& env = {{"RUNVOY_CONFIG", "none"}}) {
  std::vector<std::string> argv = {RunvoyBinary(), "server"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunProcess(argv, env, "", std::chrono::seconds(30));
}

void ExpectOneLineError(const ProcessResult& result, const std::string& mentions) {
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  EXPECT_NE(result.err.find(mentions), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

TEST(ServerConfig, UnknownYamlKeyStopsStartUp) {
  const std::string dir = MakeTempDir("runvoy-config");
  std::ofstream(dir + "/server.yaml") << "listen: 127.0.0.1:0\nexecutions:\n  defualt_timeout: 1h\n";
  ExpectOneLineError(StartServer({"--config", dir + "/server.yaml", "--data-dir", dir}),
                     "defualt_timeout");
}

TEST(ServerConfig, BadValueStopsStartUp) {
  const std::string dir = MakeTempDir("runvoy-config");
  ExpectOneLineError(StartServer({"--listen", "nonsense", "--data-dir", dir}), "--listen");
}

TEST(ServerConfig, UnknownProviderStopsStartUpListingTheKnownOnes) {
  const std::string dir = MakeTempDir("runvoy-config");
  ExpectOneLineError(StartServer({"--compute", "dockr", "--data-dir", dir}), "local");
}

TEST(ServerConfig, UnwritableDataDirectoryStopsStartUp) {
  const std::string dir = MakeTempDir("runvoy-config");
  std::ofstream(dir + "/file") << "not a directory";
  ExpectOneLineError(StartServer({"--listen", "127.0.0.1:0", "--data-dir", dir + "/file/sub"}),
                     dir + "/file");
}

TEST(ServerConfig, FlagsBeatTheEnvironmentWhichBeatsTheFile) {
  const std::string dir = MakeTempDir("runvoy-config");
  std::ofstream(dir + "/server.yaml") << "listen: 127.0.0.1:1\n";
  BackgroundProcess server({RunvoyBinary(), "server", "--listen", "127.0.0.1:0", "--data-dir", dir},
                           {{"RUNVOY_CONFIG", dir + "/server.yaml"}, {"RUNVOY_LISTEN", "127.0.0.1:2"}},
                           dir + "/stderr");
  const std::string line = server.ReadLine(std::chrono::seconds(30));
  EXPECT_EQ(line.rfind("listening on http://127.0.0.1:", 0), 0u) << line << ReadFile(dir + "/stderr");
  EXPECT_EQ(line.find("127.0.0.1:1\n"), std::string::npos);
  EXPECT_NE(line, "listening on http://127.0.0.1:2");
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

TEST(ServerConfig, SigtermStopsTheServerCleanly) {
  RunvoyServer server;
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace runvoy::testing
