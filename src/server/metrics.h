#pragma once

// Metrics in the Prometheus text format (version 0.0.4): a small registry of labelled
// counters, gauges and histograms, and the server's own metrics (SPEC.md §3 `metrics`).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "service/execution_observer.h"

namespace runvoy::server {

// Orders label value lists of any string-like type (lookups without allocating).
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

class Counter {
 public:
  void Add(std::uint64_t amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets with the given upper bounds (ascending; +Inf is implied).
class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);

  void Observe(double value);

  // The cumulative count of each bound, then of +Inf.
  std::vector<std::uint64_t> CumulativeCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, the last is +Inf
  std::atomic<double> sum_{0};
};

// One metric name and its series, one per list of label values. Thread-safe; a series, once
// made, lives as long as the family.
template <typename Series>
class Family {
 public:
  // The series with `values` (one per label name, in order), made on first use.
  Series& With(std::initializer_list<std::string_view> values) {
    std::scoped_lock lock(mutex_);
    auto it = series_.find(values);
    if (it == series_.end()) {
      it = series_.emplace(std::vector<std::string>(values.begin(), values.end()), Make()).first;
    }
    return *it->second;
  }

 private:
  friend class MetricsRegistry;
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  std::unique_ptr<Series> Make() const {
    if constexpr (std::is_same_v<Series, Histogram>) {
      return std::make_unique<Histogram>(bounds_);
    } else {
      return std::make_unique<Series>();
    }
  }

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mutex_;          // guards series_
  std::map<std::vector<std::string>, std::unique_ptr<Series>, LabelValuesLess> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Metrics are added before any use; after that, recording and Render() are thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> labels = {});
  GaugeFamily& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  // A gauge without labels whose value is read when rendering.
  void AddGaugeFunction(std::string name, std::string help, std::function<double()> read);
  HistogramFamily& AddHistogram(std::string name, std::string help, std::vector<std::string> labels,
                                std::vector<double> bounds);

  // Every metric in the Prometheus text format, in the order added; series sorted by labels.
  std::string Render() const;

 private:
  struct Entry;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// The server's metrics. Thread-safe.
class Metrics final : public service::ExecutionObserver {
 public:
  // `followers` reads the number of live-log followers.
  explicit Metrics(std::function<std::size_t()> followers);

  // One answered HTTP request: `route` is the route's pattern, "unmatched" or "viewer".
  void RecordRequest(std::string_view route, std::string_view method, int status, double seconds);

  void OnExecutionStarted(const core::Execution& execution) override;
  void OnExecutionFinished(const core::Execution& execution) override;
  void OnLogLines(std::size_t lines, std::size_t bytes) override;
  void OnStoreError() override;

  std::string Render() const { return registry_.Render(); }

 private:
  MetricsRegistry registry_;
  CounterFamily& requests_;
  HistogramFamily& request_seconds_;
  CounterFamily& started_;
  CounterFamily& finished_;
  HistogramFamily& start_seconds_;
  Counter& log_lines_;
  Counter& log_bytes_;
  Counter& store_errors_;
};

}  // namespace runvoy::server
