#include "server/metrics.h"

#include <charconv>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "core/status.h"

namespace runvoy::server {
namespace {

const std::vector<double> kRequestBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kStartBounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

std::string FormatNumber(std::uint64_t value) { return std::to_string(value); }

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// Prometheus text escaping: backslashes and newlines always, double quotes in label values.
std::string Escape(std::string_view text, bool quotes) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quotes && c == '"') {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// `{a="x",b="y"}` of `names` and `values`, plus `extra` (already formatted) when not empty; ""
// when there is no label at all.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string& extra = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += (out.empty() ? "" : ",") + names[i] + "=\"" + Escape(values[i], true) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "" : ",") + extra;
  return out.empty() ? out : "{" + out + "}";
}

// Request methods outside this list share the label "other", so clients cannot add series.
std::string_view MethodLabel(std::string_view method) {
  for (std::string_view known : {"GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"}) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::CumulativeCounts() const {
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    counts[i] = total;
  }
  return counts;
}

struct MetricsRegistry::Entry {
  std::string type;  // "counter", "gauge" or "histogram"
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<GaugeFamily> gauges;
  std::unique_ptr<HistogramFamily> histograms;
  std::string name;  // of a gauge function
  std::string help;
  std::function<double()> read;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> labels) {
  auto entry = std::make_unique<Entry>();
  entry->type = "counter";
  entry->counters.reset(new CounterFamily(std::move(name), std::move(help), std::move(labels)));
  if (entry->counters->labels_.empty()) entry->counters->With({});
  entries_.push_back(std::move(entry));
  return *entries_.back()->counters;
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help,
                                       std::vector<std::string> labels) {
  auto entry = std::make_unique<Entry>();
  entry->type = "gauge";
  entry->gauges.reset(new GaugeFamily(std::move(name), std::move(help), std::move(labels)));
  if (entry->gauges->labels_.empty()) entry->gauges->With({});
  entries_.push_back(std::move(entry));
  return *entries_.back()->gauges;
}

void MetricsRegistry::AddGaugeFunction(std::string name, std::string help,
                                       std::function<double()> read) {
  auto entry = std::make_unique<Entry>();
  entry->type = "gauge";
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->read = std::move(read);
  entries_.push_back(std::move(entry));
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> labels,
                                               std::vector<double> bounds) {
  auto entry = std::make_unique<Entry>();
  entry->type = "histogram";
  entry->histograms.reset(new HistogramFamily(std::move(name), std::move(help),
                                              std::move(labels), std::move(bounds)));
  if (entry->histograms->labels_.empty()) entry->histograms->With({});
  entries_.push_back(std::move(entry));
  return *entries_.back()->histograms;
}

std::string MetricsRegistry::Render() const {
  std::string out;
  const auto header = [&out](const std::string& name, const std::string& help,
                             const std::string& type) {
    out += "# HELP " + name + " " + Escape(help, false) + "\n# TYPE " + name + " " + type + "\n";
  };
  const auto simple = [&](const auto& family, const std::string& type) {
    header(family.name_, family.help_, type);
    std::scoped_lock lock(family.mutex_);
    for (const auto& [labels, series] : family.series_) {
      out += family.name_ + LabelSet(family.labels_, labels) + " " +
             FormatNumber(series->Value()) + "\n";
    }
  };
  for (const auto& entry : entries_) {
    if (entry->read) {
      header(entry->name, entry->help, entry->type);
      out += entry->name + " " + FormatNumber(entry->read()) + "\n";
    } else if (entry->histograms) {
      const HistogramFamily& family = *entry->histograms;
      header(family.name_, family.help_, entry->type);
      std::scoped_lock lock(family.mutex_);
      for (const auto& [labels, series] : family.series_) {
        const std::vector<std::uint64_t> counts = series->CumulativeCounts();
        for (std::size_t i = 0; i < counts.size(); ++i) {
          const double bound = i < family.bounds_.size() ? family.bounds_[i] : INFINITY;
          out += family.name_ + "_bucket" +
                 LabelSet(family.labels_, labels, "le=\"" + FormatNumber(bound) + "\"") + " " +
                 FormatNumber(counts[i]) + "\n";
        }
        out += family.name_ + "_sum" + LabelSet(family.labels_, labels) + " " +
               FormatNumber(series->Sum()) + "\n";
        out += family.name_ + "_count" + LabelSet(family.labels_, labels) + " " +
               FormatNumber(counts.back()) + "\n";
      }
    } else if (entry->counters) {
      simple(*entry->counters, entry->type);
    } else {
      simple(*entry->gauges, entry->type);
    }
  }
  return out;
}

Metrics::Metrics(std::function<std::size_t()> followers)
    : requests_(registry_.AddCounter("runvoy_http_requests_total", "HTTP requests answered.",
                                     {"route", "method", "status"})),
      request_seconds_(registry_.AddHistogram("runvoy_http_request_duration_seconds",
                                              "Time to answer an HTTP request.",
                                              {"route", "method"}, kRequestBounds)),
      started_(registry_.AddCounter("runvoy_executions_started_total",
                                    "Executions that started running.", {"provider"})),
      finished_(registry_.AddCounter("runvoy_executions_finished_total",
                                     "Executions that reached a terminal status.",
                                     {"provider", "status"})),
      start_seconds_(registry_.AddHistogram("runvoy_execution_start_seconds",
                                            "Time from an execution's acceptance to its start.",
                                            {"provider"}, kStartBounds)),
      log_lines_(registry_.AddCounter("runvoy_log_lines_total", "Log lines stored.").With({})),
      log_bytes_(registry_.AddCounter("runvoy_log_bytes_total", "Bytes of log messages stored.")
                     .With({})),
      store_errors_(registry_.AddCounter("runvoy_store_errors_total",
                                         "Failures to store execution events.")
                        .With({})) {
  registry_.AddGaugeFunction("runvoy_websocket_followers", "Live-log followers connected.",
                             [followers = std::move(followers)] {
                               return static_cast<double>(followers());
                             });
}

void Metrics::RecordRequest(std::string_view route, std::string_view method, int status,
                            double seconds) {
  char status_text[12];
  const auto end = std::to_chars(status_text, status_text + sizeof status_text, status).ptr;
  const std::string_view method_label = MethodLabel(method);
  requests_.With({route, method_label, std::string_view(status_text, end - status_text)}).Add();
  request_seconds_.With({route, method_label}).Observe(seconds);
}

void Metrics::OnExecutionStarted(const core::Execution& execution) {
  started_.With({execution.cloud}).Add();
  if (execution.timings.accepted && execution.timings.started) {
    const std::chrono::duration<double> waited =
        *execution.timings.started - *execution.timings.accepted;
    start_seconds_.With({execution.cloud}).Observe(std::max(0.0, waited.count()));
  }
}

void Metrics::OnExecutionFinished(const core::Execution& execution) {
  finished_.With({execution.cloud, core::StatusName(execution.status)}).Add();
}

void Metrics::OnLogLines(std::size_t lines, std::size_t bytes) {
  log_lines_.Add(lines);
  log_bytes_.Add(bytes);
}

void Metrics::OnStoreError() { store_errors_.Add(); }

}  // namespace runvoy::server
