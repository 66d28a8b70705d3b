#include "server/log_hub.h"

#include <algorithm>
#include <utility>

#include "server/log_event_json.h"

namespace runvoy::server {

LogSubscription::LogSubscription(std::string execution_id, FollowerQueueLimits limits,
                                 std::function<void()> wake)
    : execution_id_(std::move(execution_id)), limits_(limits), wake_(std::move(wake)) {}

LogDelivery LogSubscription::Take() {
  LogDelivery delivery;
  std::scoped_lock lock(mutex_);
  delivery.events.swap(queue_);
  queued_bytes_ = 0;
  queued_events_ = 0;
  delivery.finished = finished_;
  delivery.overflowed = overflowed_;
  delivery.going_away = going_away_;
  wake_pending_ = false;
  return delivery;
}

void LogSubscription::Push(const SharedLogEvents& events, std::size_t bytes) {
  std::scoped_lock lock(mutex_);
  if (overflowed_ || finished_) {
    return;
  }
  queued_bytes_ += bytes;
  queued_events_ += events->size();
  if (queued_bytes_ > limits_.max_bytes || queued_events_ > limits_.max_events) {
    // The follower cannot keep up; free the memory now, it resumes with last_event_id.
    overflowed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    queued_events_ = 0;
  } else {
    queue_.push_back(events);
  }
  WakeLocked();
}

void LogSubscription::Finish(const FinishedNotice& notice) {
  std::scoped_lock lock(mutex_);
  if (finished_) {
    return;
  }
  finished_ = notice;
  WakeLocked();
}

void LogSubscription::GoAway() {
  std::scoped_lock lock(mutex_);
  going_away_ = true;
  WakeLocked();
}

void LogSubscription::WakeLocked() {
  if (!wake_pending_) {
    wake_pending_ = true;
    wake_();
  }
}

LogHub::LogHub(FollowerQueueLimits limits) : limits_(limits) {}

void LogHub::OnEvents(const std::string& execution_id, const std::vector<core::LogEvent>& events) {
  if (events.empty() || FollowerCount(execution_id) == 0) {
    return;
  }
  // Serialized once, outside the lock; every follower shares the same strings.
  auto shared = std::make_shared<std::vector<SharedLogEvent>>();
  shared->reserve(events.size());
  std::size_t bytes = 0;
  for (const core::LogEvent& event : events) {
    auto json = std::make_shared<const std::string>(SerializeLogEvent(event));
    bytes += json->size();
    shared->push_back(SharedLogEvent{event.sequence, std::move(json)});
  }
  const SharedLogEvents batch = std::move(shared);
  std::scoped_lock lock(mutex_);
  const auto it = followers_.find(execution_id);
  if (it == followers_.end()) {
    return;
  }
  for (const auto& subscription : it->second) {
    subscription->Push(batch, bytes);
  }
}

void LogHub::OnFinished(const std::string& execution_id, core::ExecutionStatus status,
                        std::optional<int> exit_code) {
  const FinishedNotice notice{status, exit_code};
  std::scoped_lock lock(mutex_);
  const auto it = followers_.find(execution_id);
  if (it == followers_.end()) {
    return;
  }
  for (const auto& subscription : it->second) {
    subscription->Finish(notice);
  }
}

std::shared_ptr<LogSubscription> LogHub::Subscribe(const std::string& execution_id,
                                                   std::function<void()> wake) {
  auto subscription = std::make_shared<LogSubscription>(execution_id, limits_, std::move(wake));
  std::scoped_lock lock(mutex_);
  followers_[execution_id].push_back(subscription);
  return subscription;
}

void LogHub::Unsubscribe(const std::shared_ptr<LogSubscription>& subscription) {
  std::scoped_lock lock(mutex_);
  const auto it = followers_.find(subscription->execution_id());
  if (it == followers_.end()) {
    return;
  }
  auto& list = it->second;
  list.erase(std::remove(list.begin(), list.end(), subscription), list.end());
  if (list.empty()) {
    followers_.erase(it);
  }
}

std::size_t LogHub::FollowerCount(const std::string& execution_id) const {
  std::scoped_lock lock(mutex_);
  const auto it = followers_.find(execution_id);
  return it == followers_.end() ? 0 : it->second.size();
}

std::size_t LogHub::FollowerCount() const {
  std::scoped_lock lock(mutex_);
  std::size_t count = 0;
  for (const auto& [execution_id, subscriptions] : followers_) count += subscriptions.size();
  return count;
}

}  // namespace runvoy::server
