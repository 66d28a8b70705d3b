// GET /api/v1/metrics (SPEC.md §3 `metrics`): off by default, admins' keys or the bearer token,
// Prometheus text with request, execution and log counters.

#include <algorithm>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

// The value of the series starting with `series` (name and labels), or -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  const std::string line_start = series + " ";
  for (std::size_t pos = text.find(line_start); pos != std::string::npos;
       pos = text.find(line_start, pos + 1)) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + line_start.size()));
  }
  return -1;
}

TEST(Metrics, AreNotFoundWhenOff) {
  RunvoyServer server;
  const auto response = server.Call("GET", "/api/v1/metrics", server.admin_key());
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.Code(), "NOT_FOUND");
  EXPECT_EQ(server.Call("POST", "/api/v1/metrics", server.admin_key()).status, 405);
}

TEST(Metrics, AdminsReadPrometheusTextWithCountersThatGrow) {
  RunvoyServer server({"--metrics", "on"});
  const auto first = server.Call("GET", "/api/v1/metrics", server.admin_key());
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers.at("content-type"), "text/plain; version=0.0.4");
  for (const char* name :
       {"runvoy_http_requests_total", "runvoy_http_request_duration_seconds",
        "runvoy_executions_started_total", "runvoy_executions_finished_total",
        "runvoy_execution_start_seconds", "runvoy_log_lines_total", "runvoy_log_bytes_total",
        "runvoy_websocket_followers", "runvoy_store_errors_total"}) {
    EXPECT_NE(first.body.find(std::string("# TYPE ") + name + " "), std::string::npos) << name;
  }
  const std::string health =
      R"(runvoy_http_requests_total{route="/api/v1/health",method="GET",status="200"})";
  const double before = std::max(0.0, Sample(first.body, health));
  server.Call("GET", "/api/v1/health", "");
  server.Call("GET", "/api/v1/health", "");
  server.Call("GET", "/api/v1/no-such-thing", "");
  const auto second = server.Call("GET", "/api/v1/metrics", server.admin_key());
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(Sample(second.body, health), before + 2) << second.body;
  EXPECT_GE(Sample(second.body, R"(runvoy_http_requests_total{route="unmatched",method="GET",)"
                                R"(status="404"})"),
            1)
      << second.body;
  EXPECT_GE(Sample(second.body, R"(runvoy_http_requests_total{route="/api/v1/metrics",)"
                                R"(method="GET",status="200"})"),
            1);
  EXPECT_EQ(Sample(second.body, "runvoy_websocket_followers"), 0);
}

TEST(Metrics, OtherRolesAreForbiddenAndAMissingKeyIsUnauthorized) {
  RunvoyServer server({"--metrics", "on"});
  const std::string developer = server.CreateUser("dev@example.com", "developer");
  const auto forbidden = server.Call("GET", "/api/v1/metrics", developer);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.Code(), "FORBIDDEN");
  const auto none = server.Call("GET", "/api/v1/metrics", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Code(), "UNAUTHORIZED");
  const auto unknown = server.Call("GET", "/api/v1/metrics", "not-a-key-not-a-key-x");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.Code(), "INVALID_API_KEY");
}

TEST(Metrics, TheBearerTokenIsAcceptedAndAWrongOneIsUnauthorized) {
  RunvoyServer server({}, {{"RUNVOY_METRICS", "on"}, {"RUNVOY_METRICS_TOKEN", "scrape-me-123"}});
  const auto scraped = server.Call("GET", "/api/v1/metrics", "", "",
                                   {{"Authorization", "Bearer scrape-me-123"}});
  EXPECT_EQ(scraped.status, 200) << scraped.body;
  EXPECT_NE(scraped.body.find("runvoy_log_lines_total"), std::string::npos);
  const auto wrong = server.Call("GET", "/api/v1/metrics", "", "",
                                 {{"Authorization", "Bearer scrape-me-124"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.Code(), "UNAUTHORIZED");
  EXPECT_EQ(server.Call("GET", "/api/v1/metrics", server.admin_key()).status, 200);
}

TEST(Metrics, ABearerTokenIsRefusedWhenNoneIsConfigured) {
  RunvoyServer server({"--metrics", "on"});
  const auto response = server.Call("GET", "/api/v1/metrics", "", "",
                                    {{"Authorization", "Bearer anything"}});
  EXPECT_EQ(response.status, 401);
}

TEST(Metrics, WrongBearerTokensCountAsFailedAuthenticationsButTheRightOneStillWorks) {
  const std::string config = MakeTempDir("runvoy-metrics") + "/server.yaml";
  std::ofstream(config) << "auth_failure_limit: 3\n";
  RunvoyServer server({"--config", config},
                      {{"RUNVOY_METRICS", "on"}, {"RUNVOY_METRICS_TOKEN", "scrape-me-123"}});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(server.Call("GET", "/api/v1/metrics", "", "", {{"Authorization", "Bearer guess"}})
                  .status,
              401);
  }
  const auto limited =
      server.Call("GET", "/api/v1/metrics", "", "", {{"Authorization", "Bearer guess"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Code(), "RATE_LIMITED");
  const auto scraped = server.Call("GET", "/api/v1/metrics", "", "",
                                   {{"Authorization", "Bearer scrape-me-123"}});
  EXPECT_EQ(scraped.status, 200);
  EXPECT_EQ(server.Call("GET", "/api/v1/metrics", server.admin_key()).status, 200);
}

TEST(Metrics, ARunCountsAStartedExecutionAndItsLogLines) {
  RunvoyServer server({"--metrics", "on"});
  const auto image = server.Call("POST", "/api/v1/images/register", server.admin_key(),
                                 R"({"image":"host","is_default":true})");
  ASSERT_EQ(image.status, 201) << image.body;
  const auto run = server.Cli({"run", "echo hi"}, server.admin_key());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hi\n");
  const auto metrics = server.Call("GET", "/api/v1/metrics", server.admin_key());
  ASSERT_EQ(metrics.status, 200);
  const std::regex started(R"(\nrunvoy_executions_started_total\{provider="[a-z]+"\} 1\n)");
  EXPECT_TRUE(std::regex_search(metrics.body, started)) << metrics.body;
  const std::regex finished(
      R"(\nrunvoy_executions_finished_total\{provider="[a-z]+",status="SUCCEEDED"\} 1\n)");
  EXPECT_TRUE(std::regex_search(metrics.body, finished)) << metrics.body;
  EXPECT_GE(Sample(metrics.body, "runvoy_log_lines_total"), 1);
  EXPECT_GE(Sample(metrics.body, "runvoy_log_bytes_total"), 3);
}

}  // namespace
}  // namespace runvoy::testing
