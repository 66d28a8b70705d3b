#pragma once

#include "server/live_log_source.h"
#include "service/executions.h"

namespace runvoy::server {

// The WebSocket endpoint's view of executions, answered by the executions service.
class ExecutionLiveLogs final : public LiveLogSource {
 public:
  explicit ExecutionLiveLogs(service::Executions& executions) : executions_(executions) {}

  core::Result<void> Authorize(const std::string& execution_id, const std::string& token) override;
  core::Result<void> ReadAfter(const std::string& execution_id, int64_t after_sequence,
                               const std::function<bool(const core::LogEvent&)>& visit) override;
  core::Result<std::optional<Finished>> FinishedState(const std::string& execution_id) override;

 private:
  service::Executions& executions_;
};

}  // namespace runvoy::server
