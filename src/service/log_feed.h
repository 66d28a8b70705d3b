#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/records.h"
#include "core/status.h"

namespace runvoy::service {

// Receives each execution's log events right after they are stored, and its end once the final
// status is stored. Implemented by the live-log hub of the server. Called from the event
// processor's threads; implementations are thread-safe and must not block.
class LogFeed {
 public:
  virtual ~LogFeed() = default;
  virtual void OnEvents(const std::string& execution_id,
                        const std::vector<core::LogEvent>& events) = 0;
  virtual void OnFinished(const std::string& execution_id, core::ExecutionStatus status,
                          std::optional<int> exit_code) = 0;
};

}  // namespace runvoy::service
