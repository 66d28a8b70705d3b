#pragma once

// The log feed of a server sharing its store: passes events to this server's followers and tells
// the other servers (through the store's notifier) that they are stored, so that their
// followers get them too (see PeerRelay).

#include <string>
#include <vector>

#include "contract/notifier.h"
#include "service/log_feed.h"

namespace runvoy::service {

class NotifyingFeed final : public LogFeed {
 public:
  // `local` and `notifier` must outlive this feed. `node` is this server's node ID.
  NotifyingFeed(LogFeed& local, contract::Notifier& notifier, std::string node);

  void OnEvents(const std::string& execution_id,
                const std::vector<core::LogEvent>& events) override;
  void OnFinished(const std::string& execution_id, core::ExecutionStatus status,
                  std::optional<int> exit_code) override;

 private:
  LogFeed& local_;
  contract::Notifier& notifier_;
  const std::string node_;
};

}  // namespace runvoy::service
