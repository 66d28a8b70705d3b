#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/records.h"
#include "core/status.h"
#include "service/log_feed.h"

namespace runvoy::server {

// One log event, serialized once (log_event_json.h) and shared by every follower.
struct SharedLogEvent {
  int64_t sequence = 0;
  std::shared_ptr<const std::string> json;
};

using SharedLogEvents = std::shared_ptr<const std::vector<SharedLogEvent>>;

// How an execution ended, as the hub heard it.
struct FinishedNotice {
  core::ExecutionStatus status = core::ExecutionStatus::kSucceeded;
  std::optional<int> exit_code;
};

// What a follower takes from its queue in one go (LogSubscription::Take).
struct LogDelivery {
  std::vector<SharedLogEvents> events;     // in publication order
  std::optional<FinishedNotice> finished;  // set after every event published before the end
  bool overflowed = false;                 // the queue overflowed and was dropped: close with 1013
  bool going_away = false;                 // the server is shutting down: close with 1001
};

// Bounds of one follower's queue.
struct FollowerQueueLimits {
  std::size_t max_bytes = 8 << 20;
  std::size_t max_events = 50000;
};

// The queue of one follower of one execution. The hub appends to it; the follower's writer takes
// from it. Appending never blocks: it wakes the writer through `wake` (which must only post work
// to the writer's executor), at most once until the next Take(). Past its limits the queue is
// dropped and marked overflowed; nothing more is appended. Thread-safe.
class LogSubscription {
 public:
  LogSubscription(std::string execution_id, FollowerQueueLimits limits, std::function<void()> wake);

  const std::string& execution_id() const { return execution_id_; }

  // Everything queued since the last Take(), and the end markers. Re-arms the wake.
  LogDelivery Take();

  // Called by the hub.
  void Push(const SharedLogEvents& events, std::size_t bytes);
  void Finish(const FinishedNotice& notice);
  // Asks the follower to close with 1001 (server shutdown).
  void GoAway();

 private:
  void WakeLocked();

  const std::string execution_id_;
  const FollowerQueueLimits limits_;
  const std::function<void()> wake_;

  std::mutex mutex_;  // guards the members below
  std::vector<SharedLogEvents> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t queued_events_ = 0;
  std::optional<FinishedNotice> finished_;
  bool overflowed_ = false;
  bool going_away_ = false;
  bool wake_pending_ = false;
};

// The live-log hub: fans each execution's new events and its end out to the followers of that
// execution. OnEvents/OnFinished serialize each event once and only append to the followers'
// queues, so they never block on a follower. Thread-safe.
class LogHub final : public service::LogFeed {
 public:
  explicit LogHub(FollowerQueueLimits limits = {});
  LogHub(const LogHub&) = delete;
  LogHub& operator=(const LogHub&) = delete;

  void OnEvents(const std::string& execution_id,
                const std::vector<core::LogEvent>& events) override;
  void OnFinished(const std::string& execution_id, core::ExecutionStatus status,
                  std::optional<int> exit_code) override;

  // Starts queueing the events of `execution_id` published from now on for a new follower.
  // `wake` is called (from the publishing thread) when the queue turns non-empty; it must not
  // block. Unsubscribe when done.
  std::shared_ptr<LogSubscription> Subscribe(const std::string& execution_id,
                                             std::function<void()> wake);
  void Unsubscribe(const std::shared_ptr<LogSubscription>& subscription);

  // The number of current followers of `execution_id`.
  std::size_t FollowerCount(const std::string& execution_id) const;
  // The number of current followers of every execution.
  std::size_t FollowerCount() const;

 private:
  const FollowerQueueLimits limits_;
  mutable std::mutex mutex_;  // guards followers_
  std::map<std::string, std::vector<std::shared_ptr<LogSubscription>>> followers_;
};

}  // namespace runvoy::server
