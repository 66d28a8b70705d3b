// The metrics registry's Prometheus text rendering and the server's metrics.

#include "server/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/time.h"

namespace runvoy::server {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsRegistry, RendersCountersWithHelpTypeAndSortedLabelledSeries) {
  MetricsRegistry registry;
  CounterFamily& requests = registry.AddCounter("app_requests_total", "Requests.", {"route"});
  requests.With({"/b"}).Add(2);
  requests.With({"/a"}).Add();
  requests.With({"/b"}).Add();
  EXPECT_EQ(registry.Render(),
            "# HELP app_requests_total Requests.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{route=\"/a\"} 1\n"
            "app_requests_total{route=\"/b\"} 3\n");
}

TEST(MetricsRegistry, UnlabelledMetricsAreRenderedAtZeroBeforeAnyUse) {
  MetricsRegistry registry;
  registry.AddCounter("app_errors_total", "Errors.");
  registry.AddGauge("app_level", "Level.").With({}).Set(2.5);
  registry.AddGaugeFunction("app_followers", "Followers.", [] { return 7.0; });
  EXPECT_EQ(registry.Render(),
            "# HELP app_errors_total Errors.\n# TYPE app_errors_total counter\n"
            "app_errors_total 0\n"
            "# HELP app_level Level.\n# TYPE app_level gauge\napp_level 2.5\n"
            "# HELP app_followers Followers.\n# TYPE app_followers gauge\napp_followers 7\n");
}

TEST(MetricsRegistry, HistogramsRenderCumulativeBucketsSumAndCount) {
  MetricsRegistry registry;
  HistogramFamily& seconds =
      registry.AddHistogram("app_seconds", "Durations.", {"kind"}, {0.25, 1});
  Histogram& fast = seconds.With({"x"});
  fast.Observe(0.125);
  fast.Observe(0.25);  // a bound counts into its own bucket (le)
  fast.Observe(0.5);
  fast.Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP app_seconds Durations.\n# TYPE app_seconds histogram\n"
            "app_seconds_bucket{kind=\"x\",le=\"0.25\"} 2\n"
            "app_seconds_bucket{kind=\"x\",le=\"1\"} 3\n"
            "app_seconds_bucket{kind=\"x\",le=\"+Inf\"} 4\n"
            "app_seconds_sum{kind=\"x\"} 3.875\n"
            "app_seconds_count{kind=\"x\"} 4\n");
}

TEST(MetricsRegistry, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry registry;
  registry.AddCounter("app_total", "Back\\slash\nnewline.", {"v"})
      .With({"a\"b\\c\nd"})
      .Add();
  const std::string text = registry.Render();
  EXPECT_TRUE(Contains(text, "# HELP app_total Back\\\\slash\\nnewline.\n")) << text;
  EXPECT_TRUE(Contains(text, "app_total{v=\"a\\\"b\\\\c\\nd\"} 1\n")) << text;
}

TEST(MetricsRegistry, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  CounterFamily& counter = registry.AddCounter("app_total", "Total.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counter, t] {
      for (int i = 0; i < 10000; ++i) counter.With({t % 2 == 0 ? "even" : "odd"}).Add();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.With({"even"}).Value(), 20000u);
  EXPECT_EQ(counter.With({"odd"}).Value(), 20000u);
}

TEST(Metrics, RecordsRequestsAndExecutionsUnderTheirNames) {
  std::size_t followers = 3;
  Metrics metrics([&followers] { return followers; });
  metrics.RecordRequest("/api/v1/executions/{id}/status", "GET", 200, 0.002);
  metrics.RecordRequest("unmatched", "BREW", 404, 0.0001);
  core::Execution execution;
  execution.cloud = "local";
  execution.timings.accepted = core::FromUnixMillis(1000);
  execution.timings.started = core::FromUnixMillis(1300);
  metrics.OnExecutionStarted(execution);
  execution.status = core::ExecutionStatus::kSucceeded;
  metrics.OnExecutionFinished(execution);
  metrics.OnLogLines(2, 11);
  metrics.OnStoreError();

  const std::string text = metrics.Render();
  EXPECT_TRUE(Contains(text, "runvoy_http_requests_total{route=\"/api/v1/executions/{id}/status\","
                             "method=\"GET\",status=\"200\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text, "runvoy_http_requests_total{route=\"unmatched\",method=\"other\","
                             "status=\"404\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text, "runvoy_http_request_duration_seconds_bucket{route=\"/api/v1/"
                             "executions/{id}/status\",method=\"GET\",le=\"0.0025\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text, "runvoy_executions_started_total{provider=\"local\"} 1\n"));
  EXPECT_TRUE(Contains(text, "runvoy_executions_finished_total{provider=\"local\","
                             "status=\"SUCCEEDED\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text, "runvoy_execution_start_seconds_bucket{provider=\"local\","
                             "le=\"0.25\"} 0\n"))
      << text;
  EXPECT_TRUE(Contains(text, "runvoy_execution_start_seconds_bucket{provider=\"local\","
                             "le=\"0.5\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text, "runvoy_log_lines_total 2\n"));
  EXPECT_TRUE(Contains(text, "runvoy_log_bytes_total 11\n"));
  EXPECT_TRUE(Contains(text, "runvoy_store_errors_total 1\n"));
  EXPECT_TRUE(Contains(text, "# TYPE runvoy_websocket_followers gauge\n"
                             "runvoy_websocket_followers 3\n"))
      << text;
  followers = 0;
  EXPECT_TRUE(Contains(metrics.Render(), "runvoy_websocket_followers 0\n"));
}

}  // namespace
}  // namespace runvoy::server
