#pragma once

// An EventSink for the local provider's tests: records everything reported, checks the
// contract's ordering as it goes, and lets a test wait for what it expects.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "contract/compute.h"

namespace runvoy::providers::local {

inline constexpr std::chrono::seconds kSinkDeadline{20};

// Records everything a provider reports, and checks the contract's ordering as it goes.
class CollectingSink final : public contract::EventSink {
 public:
  using TaskExit = contract::TaskExit;

  struct Execution {
    int started = 0;
    std::vector<core::LogEvent> events;
    std::optional<TaskExit> exit;
    int exits = 0;
    std::vector<std::string> violations;
  };

  // While set, every delivery is refused (the store is down).
  void SetRefusing(bool refusing) {
    std::lock_guard lock(mu_);
    refusing_ = refusing;
  }
  int refused() {
    std::lock_guard lock(mu_);
    return refused_;
  }

  bool OnStarted(const std::string& id, core::TimePoint) override {
    std::lock_guard lock(mu_);
    if (Refuse())
      return false;
    auto& e = executions_[id];
    if (e.exit)
      e.violations.push_back("OnStarted after OnExited");
    ++e.started;
    cv_.notify_all();
    return true;
  }
  bool OnOutput(const std::string& id, const std::vector<core::LogEvent>& events) override {
    std::lock_guard lock(mu_);
    if (Refuse())
      return false;
    auto& e = executions_[id];
    if (e.exit)
      e.violations.push_back("OnOutput after OnExited");
    if (events.empty())
      e.violations.push_back("empty OnOutput");
    for (const auto& event : events) {
      if (!e.events.empty() && event.sequence != e.events.back().sequence + 1) {
        e.violations.push_back("sequence " + std::to_string(event.sequence) + " after " +
                               std::to_string(e.events.back().sequence));
      }
      e.events.push_back(event);
    }
    cv_.notify_all();
    return true;
  }
  bool OnExited(const std::string& id, const TaskExit& exit) override {
    std::lock_guard lock(mu_);
    if (Refuse())
      return false;
    auto& e = executions_[id];
    e.exit = exit;
    ++e.exits;
    cv_.notify_all();
    return true;
  }

  // Waits until `pred` holds for execution `id`; false at the deadline.
  bool WaitFor(const std::string& id, const std::function<bool(const Execution&)>& pred,
               std::chrono::milliseconds deadline = kSinkDeadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return pred(executions_[id]); });
  }
  bool WaitForExit(const std::string& id) {
    return WaitFor(id, [](const Execution& e) { return e.exit.has_value(); });
  }
  bool WaitForLine(const std::string& id, const std::string& line) {
    return WaitFor(id, [&](const Execution& e) {
      for (const auto& ev : e.events) {
        if (ev.message == line)
          return true;
      }
      return false;
    });
  }
  Execution Get(const std::string& id) {
    std::lock_guard lock(mu_);
    return executions_[id];
  }

 private:
  bool Refuse() {
    if (!refusing_)
      return false;
    ++refused_;
    cv_.notify_all();
    return true;
  }

  bool refusing_ = false;
  int refused_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Execution> executions_;
};

inline std::vector<std::string> Lines(const CollectingSink::Execution& e, core::LogStream stream) {
  std::vector<std::string> out;
  for (const auto& ev : e.events) {
    if (ev.stream == stream)
      out.push_back(ev.message);
  }
  return out;
}

}  // namespace runvoy::providers::local
