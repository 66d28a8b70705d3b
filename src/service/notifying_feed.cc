#include "service/notifying_feed.h"

#include <utility>

#include "core/log.h"

namespace runvoy::service {

NotifyingFeed::NotifyingFeed(LogFeed& local, contract::Notifier& notifier, std::string node)
    : local_(local), notifier_(notifier), node_(std::move(node)) {}

void NotifyingFeed::OnEvents(const std::string& execution_id,
                             const std::vector<core::LogEvent>& events) {
  local_.OnEvents(execution_id, events);
  if (events.empty()) return;
  contract::Notice notice;
  notice.kind = contract::Notice::Kind::kNewEvents;
  notice.execution_id = execution_id;
  notice.node = node_;
  notice.first_sequence = events.front().sequence;
  notice.sequence = events.back().sequence;
  // A lost notice only delays the other servers' followers until the next one.
  if (auto sent = notifier_.Publish(notice); !sent) {
    core::log::Warn("", "notice for {} not sent: {}", execution_id, sent.error().message);
  }
}

void NotifyingFeed::OnFinished(const std::string& execution_id, core::ExecutionStatus status,
                               std::optional<int> exit_code) {
  local_.OnFinished(execution_id, status, exit_code);
  contract::Notice notice;
  notice.kind = contract::Notice::Kind::kEnded;
  notice.execution_id = execution_id;
  notice.node = node_;
  if (auto sent = notifier_.Publish(notice); !sent) {
    core::log::Warn("", "notice for {} not sent: {}", execution_id, sent.error().message);
  }
}

}  // namespace runvoy::service
