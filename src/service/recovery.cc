#include "service/recovery.h"

#include <vector>

namespace runvoy::service {

core::Result<int> RecoverExecutions(contract::Store& store, contract::ComputeProvider& compute,
                                    EventProcessor& processor, const std::string& node) {
  contract::ExecutionFilter filter;
  filter.limit = 0;
  filter.node = node;
  filter.statuses = {core::ExecutionStatus::kStarting, core::ExecutionStatus::kRunning,
                     core::ExecutionStatus::kTerminating};
  std::vector<core::Execution> unfinished;
  auto listed = store.Executions().List(filter, [&](const core::Execution& execution) {
    unfinished.push_back(execution);
    return true;
  });
  if (!listed) return tl::unexpected(listed.error());
  int attached = 0;
  for (const core::Execution& execution : unfinished) {
    auto last = store.Logs().LastSequence(execution.execution_id);
    if (!last) return tl::unexpected(last.error());
    auto resumed = compute.Attach(execution.execution_id, execution.task_ref, *last);
    if (resumed) {
      ++attached;
    } else if (resumed.error().code == core::ErrorCode::kNotFound) {
      processor.FailVanished(execution.execution_id,
                             "the task was lost while the server was down");
    }
  }
  return attached;
}

}  // namespace runvoy::service
