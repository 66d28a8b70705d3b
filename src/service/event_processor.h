#pragma once

// Turns a compute provider's task events into stored status changes and log lines, and hands
// them to the live-log feed (ARCHITECTURE.md "Data flow of one run", step 3).

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "contract/compute.h"
#include "contract/store.h"
#include "core/time.h"
#include "service/execution_observer.h"
#include "service/log_feed.h"

namespace runvoy::service {

// Thread-safe. Each method returns only once the event is stored (or storing failed: false).
// Starts, ends, stored log lines and store failures are also told to `observer` when given.
class EventProcessor final : public contract::EventSink {
 public:
  EventProcessor(contract::Store& store, LogFeed& feed, const core::Clock& clock,
                 ExecutionObserver* observer = nullptr);

  bool OnStarted(const std::string& execution_id, core::TimePoint at) override;
  bool OnOutput(const std::string& execution_id,
                const std::vector<core::LogEvent>& events) override;
  bool OnExited(const std::string& execution_id, const contract::TaskExit& exit) override;

  // Ends an execution whose task is gone (reconcile, recovery): FAILED 1 with a runvoy log line
  // saying why, unless it already ended.
  bool FailVanished(const std::string& execution_id, const std::string& why);

 private:
  // Applies `change` to the stored record until the compare-and-set wins or the record is
  // terminal. Returns false when the store failed.
  bool UpdateRecord(const std::string& execution_id,
                    const std::function<bool(core::Execution&)>& change);
  bool AppendRunvoyLine(const std::string& execution_id, const std::string& message);
  // Tells the observer about `events` once they are stored.
  void CountLines(const std::vector<core::LogEvent>& events);
  // `ok`, after telling the observer when it is false.
  bool Stored(bool ok);
  // Logs why a write failed (rate-limited) and returns false.
  bool LogStoreFailure(const std::string& execution_id, const std::string& why);

  contract::Store& store_;
  LogFeed& feed_;
  const core::Clock& clock_;
  ExecutionObserver& observer_;
  std::mutex mutex_;  // guards seen_output_
  std::set<std::string> seen_output_;  // executions whose first_output is recorded
  std::atomic<uint64_t> store_failures_{0};
};

}  // namespace runvoy::service
