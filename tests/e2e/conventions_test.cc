// Cross-cutting conventions of SPEC.md §1: rate limiting of failed authentication, CORS,
// request IDs in logs and the audit trail, and tokens kept out of both.

#include <csignal>
#include <fstream>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

std::string ConfigWith(const std::string& yaml) {
  const std::string path = MakeTempDir("runvoy-conventions") + "/server.yaml";
  std::ofstream(path) << yaml;
  return path;
}

TEST(RateLimiting, FailedAuthenticationsPastTheLimitGet429ButAValidKeyIsNeverLimited) {
  RunvoyServer server({"--config", ConfigWith("auth_failure_limit: 5\n")});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(server.Call("GET", "/api/v1/users", "wrong-key-wrong-key").status, 401);
  }
  const auto limited = server.Call("GET", "/api/v1/users", "wrong-key-wrong-key");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Code(), "RATE_LIMITED");
  ASSERT_TRUE(limited.headers.count("retry-after"));
  EXPECT_GE(std::stoi(limited.headers.at("retry-after")), 1);
  EXPECT_EQ(server.Call("GET", "/api/v1/users", "").status, 429);
  EXPECT_EQ(server.Call("GET", "/api/v1/users", server.admin_key()).status, 200);
}

TEST(RateLimiting, FailedClaimsCountToo) {
  RunvoyServer server({"--config", ConfigWith("auth_failure_limit: 3\n")});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(server.Call("GET", "/api/v1/claim/guess" + std::to_string(i), "").status, 404);
  }
  EXPECT_EQ(server.Call("GET", "/api/v1/claim/guess-again", "").status, 429);
}

TEST(Cors, AllowedOriginsAreEchoedAndPreflightNeedsNoKey) {
  RunvoyServer server({}, {{"RUNVOY_CORS_ORIGINS", "https://ops.example.com"}});
  const auto preflight = server.Call("OPTIONS", "/api/v1/run", "", "",
                                     {{"Origin", "https://ops.example.com"},
                                      {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(preflight.status, 200);
  EXPECT_EQ(preflight.headers.at("access-control-allow-origin"), "https://ops.example.com");
  EXPECT_NE(preflight.headers.at("access-control-allow-methods").find("DELETE"), std::string::npos);
  EXPECT_EQ(preflight.headers.at("access-control-allow-headers"), "Content-Type, X-API-Key");
  EXPECT_EQ(preflight.headers.at("access-control-max-age"), "3600");
  const auto other = server.Call("GET", "/api/v1/health", "", "", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.headers.count("access-control-allow-origin"), 0u);
}

TEST(Logging, EveryRequestHasOneAccessLineWithItsIdAndTokensAreRedacted) {
  RunvoyServer server;
  const auto created = server.Call("POST", "/api/v1/users/create", server.admin_key(),
                                   R"({"email":"x@example.com","role":"viewer"})");
  const std::string token(created.json.at("claim_token").as_string());
  const auto claimed = server.Call("GET", "/api/v1/claim/" + token, "", "",
                                   {{"X-Request-ID", "client-7"}});
  ASSERT_EQ(claimed.status, 200);
  const std::string key(claimed.json.at("api_key").as_string());
  const std::string request_id = claimed.headers.at("x-request-id");
  server.Stop(SIGTERM);
  const std::string log = server.Stderr();
  EXPECT_EQ(log.find(token), std::string::npos);
  EXPECT_EQ(log.find(key), std::string::npos);
  EXPECT_EQ(log.find(server.admin_key()), std::string::npos);
  EXPECT_NE(log.find("request_id=" + request_id + " GET /api/v1/claim/*** 200"), std::string::npos)
      << log;
  EXPECT_NE(log.find("client_request_id=client-7"), std::string::npos);
}

TEST(Logging, JsonLogFormatWritesOneJsonObjectPerLineWithTheRequestId) {
  RunvoyServer server({"--config", ConfigWith("log_format: json\n")});
  const auto users = server.Call("GET", "/api/v1/users", server.admin_key());
  const std::string request_id = users.headers.at("x-request-id");
  server.Stop(SIGTERM);
  const std::string log = server.Stderr();
  std::size_t start = 0;
  bool found = false;
  while (start < log.size()) {
    const std::size_t end = log.find('\n', start);
    const std::string line = log.substr(start, end - start);
    start = end == std::string::npos ? log.size() : end + 1;
    if (line.empty()) continue;
    boost::system::error_code ec;
    const auto json = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    EXPECT_TRUE(json.as_object().contains("time") && json.as_object().contains("level") &&
                json.as_object().contains("msg"))
        << line;
    if (json.as_object().contains("request_id") && json.at("request_id").as_string() == request_id) {
      found = true;
      EXPECT_NE(std::string(json.at("msg").as_string()).find("GET /api/v1/users 200"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(found) << log;
}

TEST(Audit, EachApiRequestAppendsAChainedEntryWithoutTokens) {
  RunvoyServer server;
  const auto created = server.Call("POST", "/api/v1/users/create", server.admin_key(),
                                   R"({"email":"y@example.com","role":"viewer"})");
  const std::string token(created.json.at("claim_token").as_string());
  server.Call("GET", "/api/v1/claim/" + token, "");
  server.Call("GET", "/api/v1/users", "bad-key-bad-key-bad");
  const auto audit = server.Call("GET", "/api/v1/audit?limit=1000", server.admin_key());
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_EQ(audit.body.find(token), std::string::npos);
  const auto& entries = audit.json.at("entries").as_array();
  ASSERT_GE(entries.size(), 3u);
  std::string previous_hash;
  bool saw_denied = false;
  for (const auto& entry : entries) {
    EXPECT_EQ(entry.at("prev_hash").as_string(), previous_hash);
    previous_hash = std::string(entry.at("hash").as_string());
    if (entry.at("status").as_int64() == 401) saw_denied = true;
  }
  EXPECT_TRUE(saw_denied);
  const auto trace = server.Call("GET", "/api/v1/trace/" + created.headers.at("x-request-id"),
                                 server.admin_key());
  ASSERT_EQ(trace.status, 200);
  EXPECT_FALSE(trace.json.at("logs").as_array().empty());
  EXPECT_EQ(trace.json.at("related_resources").at("users").as_array().size(), 1u);
}

}  // namespace
}  // namespace runvoy::testing
