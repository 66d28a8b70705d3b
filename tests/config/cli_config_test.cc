#include "config/cli_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace runvoy::config {
namespace {

using ::testing::HasSubstr;

TEST(ParseCliConfig, ReadsTheThreeKeys) {
  auto config =
      ParseCliConfig("api_endpoint: http://127.0.0.1:56212\napi_key: abc123\nweb_url: http://x/\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->api_endpoint, "http://127.0.0.1:56212");
  EXPECT_EQ(config->api_key, "abc123");
  EXPECT_EQ(config->web_url, "http://x/");
}

TEST(ParseCliConfig, EmptyTextIsAnEmptyConfig) {
  auto config = ParseCliConfig("");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->api_endpoint, "");
  EXPECT_EQ(config->api_key, "");
}

TEST(ParseCliConfig, UnknownKeysAreIgnored) {
  auto config = ParseCliConfig("api_key: k\nfuture_setting:\n  nested: true\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->api_key, "k");
}

TEST(ParseCliConfig, BadDocumentsAreErrorsWithTheirLine) {
  auto list = ParseCliConfig("- a\n");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(list.error().message, "config.yaml, line 1: expected a map of keys, got a list");

  auto nested = ParseCliConfig("api_endpoint: http://x\napi_key:\n  - k\n");
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().message, "config.yaml, line 3: api_key: expected a value, got a list");

  auto broken = ParseCliConfig("api_key: [k\n");
  ASSERT_FALSE(broken);
  EXPECT_THAT(broken.error().message, HasSubstr("config.yaml, line "));
}

TEST(RenderCliConfig, RoundTripsThroughParse) {
  const CliFileConfig original{"http://127.0.0.1:56212", "key: with \"quotes\" # and hash",
                               "https://web.example.com/"};
  const std::string text = RenderCliConfig(original);
  auto parsed = ParseCliConfig(text);
  ASSERT_TRUE(parsed) << parsed.error().message << "\n" << text;
  EXPECT_EQ(parsed->api_endpoint, original.api_endpoint);
  EXPECT_EQ(parsed->api_key, original.api_key);
  EXPECT_EQ(parsed->web_url, original.web_url);
  EXPECT_EQ(text.back(), '\n');
}

TEST(RenderCliConfig, LeavesOutEmptyKeys) {
  const std::string text = RenderCliConfig(CliFileConfig{"http://h:1", "", ""});
  EXPECT_EQ(text, "api_endpoint: \"http://h:1\"\n");
  EXPECT_EQ(RenderCliConfig(CliFileConfig{}), "");
}

}  // namespace
}  // namespace runvoy::config
