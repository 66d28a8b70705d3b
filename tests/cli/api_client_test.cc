#include "cli/api_client.h"

#include <gtest/gtest.h>

namespace runvoy::cli {
namespace {

TEST(ApiClient, ServerErrorCarriesCodeMessageAndDetails) {
  const core::Error error = ErrorFromResponse(
      404, R"({"error":"execution not found","code":"NOT_FOUND","details":"no such id"})");
  EXPECT_EQ(error.code, core::ErrorCode::kNotFound);
  EXPECT_EQ(error.message, "execution not found");
  EXPECT_EQ(error.details, "no such id");
}

TEST(ApiClient, ErrorWithoutABodyFallsBackToTheStatus) {
  const core::Error error = ErrorFromResponse(403, "<html>nope</html>");
  EXPECT_EQ(error.code, core::ErrorCode::kForbidden);
  EXPECT_EQ(error.message, "HTTP 403");
}

TEST(ApiClient, EveryCodeNameMapsBack) {
  for (auto code : {core::ErrorCode::kInvalidApiKey, core::ErrorCode::kSecretAlreadyExists,
                    core::ErrorCode::kDatabase, core::ErrorCode::kRateLimited}) {
    EXPECT_EQ(ErrorCodeFromName(core::ErrorCodeName(code)), code);
  }
  EXPECT_FALSE(ErrorCodeFromName("NOPE").has_value());
}

TEST(ApiClient, UnreachableServerIsServiceUnavailableWithTheUrl) {
  HttpApiClientOptions options;
  options.base_url = "http://127.0.0.1:1/api/v1";
  options.timeout = std::chrono::seconds(5);
  auto api = MakeHttpApiClient(options);
  auto reply = api->Get("/health");
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, core::ErrorCode::kServiceUnavailable);
  EXPECT_EQ(reply.error().message, "cannot reach the runvoy server at http://127.0.0.1:1/api/v1");
  EXPECT_FALSE(reply.error().details.empty());
}

}  // namespace
}  // namespace runvoy::cli
