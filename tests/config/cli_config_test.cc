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

// Found by fuzz/server_config_fuzzer: a value with bytes that are not UTF-8 was read as it was,
// but RenderCliConfig wrote U+FFFD for them, so the file did not read back the same.
TEST(ParseCliConfig, TextThatIsNotUtf8IsAnError) {
  auto config = ParseCliConfig("api_endpoint: http://h:1\napi_key: \"k: \xff\xff\"\n");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(config.error().message, "config.yaml, line 2: invalid YAML: not printable UTF-8 text");
  // A raw control character is not YAML either (it must be written as an escape).
  auto control = ParseCliConfig(std::string("api_endpoint: http\x01://1a\t") + '\0' + "x\n");
  ASSERT_FALSE(control);
  EXPECT_EQ(control.error().message, "config.yaml, line 1: invalid YAML: not printable UTF-8 text");
  auto valid = ParseCliConfig("api_key: \"caf\xc3\xa9 \xf0\x9f\x98\x80\"\n");
  ASSERT_TRUE(valid) << valid.error().message;
  auto again = ParseCliConfig(RenderCliConfig(*valid));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->api_key, valid->api_key);
}

}  // namespace
}  // namespace runvoy::config
