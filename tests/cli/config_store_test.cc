#include "cli/config_store.h"

#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_support.h"

namespace runvoy::cli {
namespace {

using testing::TempDir;

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0);
  return info.st_mode & 0777;
}

TEST(ConfigStore, MissingFileIsAnEmptyConfig) {
  TempDir dir;
  auto config = LoadConfigFile(dir.path() / ".runvoy" / "config.yaml");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->api_endpoint, "");
  EXPECT_EQ(config->api_key, "");
}

TEST(ConfigStore, SavedConfigReadsBackWithPrivatePermissions) {
  TempDir dir;
  Environment env;
  env.vars["HOME"] = dir.path().string();
  const auto path = ConfigFilePath(env);
  EXPECT_EQ(path, dir.path() / ".runvoy" / "config.yaml");
  ASSERT_TRUE(SaveConfigFile(path, {"http://127.0.0.1:56212", "key: with \"quotes\"", ""}));
  EXPECT_EQ(ModeOf(path.parent_path()), 0700u);
  EXPECT_EQ(ModeOf(path), 0600u);
  bool too_open = true;
  auto config = LoadConfigFile(path, &too_open);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_FALSE(too_open);
  EXPECT_EQ(config->api_endpoint, "http://127.0.0.1:56212");
  EXPECT_EQ(config->api_key, "key: with \"quotes\"");
  EXPECT_EQ(config->web_url, "");
}

TEST(ConfigStore, SavingTightensAnExistingDirectoryAndFile) {
  TempDir dir;
  const auto runvoy_dir = dir.path() / ".runvoy";
  std::filesystem::create_directories(runvoy_dir);
  chmod(runvoy_dir.c_str(), 0755);
  const auto path = runvoy_dir / "config.yaml";
  std::ofstream(path) << "api_endpoint: http://old\n";
  chmod(path.c_str(), 0644);
  bool too_open = false;
  ASSERT_TRUE(LoadConfigFile(path, &too_open));
  EXPECT_TRUE(too_open);
  ASSERT_TRUE(SaveConfigFile(path, {"http://new", "k", "http://viewer"}));
  EXPECT_EQ(ModeOf(runvoy_dir), 0700u);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(LoadConfigFile(path)->web_url, "http://viewer");
}

TEST(ConfigStore, MalformedFileIsAnErrorNamingTheFile) {
  TempDir dir;
  const auto path = dir.path() / "config.yaml";
  std::ofstream(path) << "api_endpoint: [unclosed\n";
  auto config = LoadConfigFile(path);
  ASSERT_FALSE(config.has_value());
  EXPECT_NE(config.error().message.find(path.string()), std::string::npos);
}

TEST(ConfigStore, EnvironmentOverridesTheFile) {
  Environment env;
  env.vars["RUNVOY_API_ENDPOINT"] = "http://env:1";
  env.vars["RUNVOY_API_KEY"] = "";  // empty: does not override
  env.vars["RUNVOY_WEB_URL"] = "http://web";
  CliConfig config = ApplyEnvironment({"http://file:1", "file-key", "http://file-web"}, env);
  EXPECT_EQ(config.api_endpoint, "http://env:1");
  EXPECT_EQ(config.api_key, "file-key");
  EXPECT_EQ(config.web_url, "http://web");
}

TEST(ConfigStore, ApiBaseUrlAddsTheBasePathOnce) {
  EXPECT_EQ(ApiBaseUrl("http://h:1"), "http://h:1/api/v1");
  EXPECT_EQ(ApiBaseUrl("http://h:1/"), "http://h:1/api/v1");
  EXPECT_EQ(ApiBaseUrl("http://h:1/api/v1"), "http://h:1/api/v1");
  EXPECT_EQ(ApiBaseUrl("http://h:1/api/v1/"), "http://h:1/api/v1");
  EXPECT_EQ(ApiBaseUrl("https://h/prefix"), "https://h/prefix/api/v1");
}

TEST(ConfigStore, ViewerLinkDefaultsToTheServer) {
  EXPECT_EQ(ViewerLink({"http://h:1/api/v1/", "", ""}, "abc"), "http://h:1/logs?execution_id=abc");
  EXPECT_EQ(ViewerLink({"http://h:1", "", "https://view.example/"}, "abc"),
            "https://view.example/logs?execution_id=abc");
}

}  // namespace
}  // namespace runvoy::cli
