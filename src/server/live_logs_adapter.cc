#include "server/live_logs_adapter.h"

namespace runvoy::server {

core::Result<void> ExecutionLiveLogs::Authorize(const std::string& execution_id,
                                                const std::string& token) {
  return executions_.AuthorizeFollower(execution_id, token);
}

core::Result<void> ExecutionLiveLogs::ReadAfter(
    const std::string& execution_id, int64_t after_sequence,
    const std::function<bool(const core::LogEvent&)>& visit) {
  return executions_.ReadLogs(execution_id, after_sequence, 0, visit);
}

core::Result<std::optional<LiveLogSource::Finished>> ExecutionLiveLogs::FinishedState(
    const std::string& execution_id) {
  auto found = executions_.Find(execution_id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return core::Fail(core::ErrorCode::kNotFound, "execution not found");
  if (!core::IsTerminal((*found)->status)) return std::optional<Finished>();
  return std::optional<Finished>(Finished{(*found)->status, (*found)->exit_code});
}

}  // namespace runvoy::server
