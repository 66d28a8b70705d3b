#include "service/event_processor.h"

#include "core/log.h"
#include "service/outcome.h"

namespace runvoy::service {
namespace {

ExecutionObserver& NoObserver() {
  static ExecutionObserver none;
  return none;
}

}  // namespace

EventProcessor::EventProcessor(contract::Store& store, LogFeed& feed, const core::Clock& clock,
                               ExecutionObserver* observer)
    : store_(store), feed_(feed), clock_(clock), observer_(observer ? *observer : NoObserver()) {}

bool EventProcessor::UpdateRecord(const std::string& execution_id,
                                  const std::function<bool(core::Execution&)>& change) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto found = store_.Executions().Get(execution_id);
    if (!found) return LogStoreFailure(execution_id, found.error().message);
    if (!*found) return true;  // nothing to update: the record is gone
    core::Execution execution = **found;
    const core::ExecutionStatus expected = execution.status;
    if (!change(execution)) return true;
    auto written = store_.Executions().Update(execution, expected);
    if (!written) {
      if (written.error().code == core::ErrorCode::kNotFound) return true;
      return LogStoreFailure(execution_id, written.error().message);
    }
    if (*written) return true;
  }
  return LogStoreFailure(execution_id, "the record kept changing under ten updates");
}

bool EventProcessor::LogStoreFailure(const std::string& execution_id, const std::string& why) {
  // The provider delivers a refused event again every half second while the store fails: the
  // first failure is logged, then every hundredth.
  const uint64_t count = ++store_failures_;
  if (count == 1 || count % 100 == 0) {
    core::log::Warn("", "storing an event of {} failed ({} failures so far): {}", execution_id,
                    count, why);
  }
  return false;
}

bool EventProcessor::Stored(bool ok) {
  if (!ok) observer_.OnStoreError();
  return ok;
}

void EventProcessor::CountLines(const std::vector<core::LogEvent>& events) {
  std::size_t bytes = 0;
  for (const core::LogEvent& event : events) bytes += event.message.size();
  observer_.OnLogLines(events.size(), bytes);
}

bool EventProcessor::OnStarted(const std::string& execution_id, core::TimePoint at) {
  core::Execution started;
  bool changed = false;
  const bool stored = UpdateRecord(execution_id, [&](core::Execution& execution) {
    changed = core::CanTransition(execution.status, core::ExecutionStatus::kRunning);
    if (!changed) return false;
    execution.status = core::ExecutionStatus::kRunning;
    execution.timings.started = at;
    started = execution;
    return true;
  });
  if (stored && changed) observer_.OnExecutionStarted(started);
  return Stored(stored);
}

bool EventProcessor::OnOutput(const std::string& execution_id,
                              const std::vector<core::LogEvent>& events) {
  if (events.empty()) return true;
  if (auto appended = store_.Logs().Append(execution_id, events); !appended) {
    return Stored(LogStoreFailure(execution_id, appended.error().message));
  }
  CountLines(events);
  bool first = false;
  {
    std::scoped_lock lock(mutex_);
    first = seen_output_.insert(execution_id).second;
  }
  if (first) {
    const core::TimePoint at = core::FromUnixMillis(events.front().timestamp_ms);
    (void)UpdateRecord(execution_id, [&](core::Execution& execution) {
      if (execution.timings.first_output || core::IsTerminal(execution.status)) return false;
      execution.timings.first_output = at;
      return true;
    });
  }
  feed_.OnEvents(execution_id, events);
  return true;
}

bool EventProcessor::OnExited(const std::string& execution_id, const contract::TaskExit& exit) {
  if (exit.cause == contract::TaskExit::Cause::kFailedToStart && !exit.reason.empty()) {
    if (!AppendRunvoyLine(execution_id, "### runvoy: could not start: " + exit.reason)) {
      return false;
    }
  }
  core::Execution final_state;
  bool changed = false;
  const bool stored = UpdateRecord(execution_id, [&](core::Execution& execution) {
    changed = !core::IsTerminal(execution.status);
    if (!changed) return false;
    const Outcome outcome = DecideOutcome(exit, execution.status);
    execution.status = outcome.status;
    execution.exit_code = outcome.exit_code;
    execution.completed_at = exit.at;
    execution.timings.finished = exit.at;
    final_state = execution;
    return true;
  });
  if (!Stored(stored)) return false;
  {
    std::scoped_lock lock(mutex_);
    seen_output_.erase(execution_id);
  }
  if (changed) {
    feed_.OnFinished(execution_id, final_state.status, final_state.exit_code);
    observer_.OnExecutionFinished(final_state);
  }
  return true;
}

bool EventProcessor::AppendRunvoyLine(const std::string& execution_id,
                                      const std::string& message) {
  auto last = store_.Logs().LastSequence(execution_id);
  if (!Stored(last.has_value())) return false;
  core::LogEvent line;
  line.sequence = *last + 1;
  line.timestamp_ms = core::ToUnixMillis(clock_.Now());
  line.stream = core::LogStream::kRunvoy;
  line.message = message;
  if (!Stored(store_.Logs().Append(execution_id, {line}).has_value())) return false;
  CountLines({line});
  feed_.OnEvents(execution_id, {line});
  return true;
}

bool EventProcessor::FailVanished(const std::string& execution_id, const std::string& why) {
  auto found = store_.Executions().Get(execution_id);
  if (!Stored(found.has_value())) return false;
  if (!*found || core::IsTerminal((*found)->status)) return true;
  if (!AppendRunvoyLine(execution_id, "### runvoy: " + why)) return false;
  contract::TaskExit exit;
  exit.cause = contract::TaskExit::Cause::kFailedToStart;
  exit.at = clock_.Now();
  return OnExited(execution_id, exit);
}

}  // namespace runvoy::service
