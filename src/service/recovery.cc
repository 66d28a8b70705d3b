#include "service/recovery.h"

#include <map>
#include <vector>

namespace runvoy::service {
namespace {

// The unfinished executions of `node` (every node when empty).
core::Result<std::vector<core::Execution>> Unfinished(contract::Store& store,
                                                      const std::string& node) {
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
  return unfinished;
}

// Re-attaches to the task of `execution`; true when attached. A task the provider does not know
// ends the execution FAILED with `lost` as its log line.
core::Result<bool> Resume(contract::Store& store, contract::ComputeProvider& compute,
                          EventProcessor& processor, const core::Execution& execution,
                          const std::string& lost) {
  auto last = store.Logs().LastSequence(execution.execution_id);
  if (!last) return tl::unexpected(last.error());
  auto resumed = compute.Attach(execution.execution_id, execution.task_ref, *last);
  if (resumed) return true;
  if (resumed.error().code == core::ErrorCode::kNotFound) {
    processor.FailVanished(execution.execution_id, lost);
  }
  return false;
}

}  // namespace

core::Result<int> RecoverExecutions(contract::Store& store, contract::ComputeProvider& compute,
                                    EventProcessor& processor, const std::string& node) {
  auto unfinished = Unfinished(store, node);
  if (!unfinished) return tl::unexpected(unfinished.error());
  int attached = 0;
  for (const core::Execution& execution : *unfinished) {
    auto resumed = Resume(store, compute, processor, execution,
                          "the task was lost while the server was down");
    if (!resumed) return tl::unexpected(resumed.error());
    if (*resumed) ++attached;
  }
  return attached;
}

core::Result<int> TakeOverSilentNodes(contract::Store& store, contract::ComputeProvider& compute,
                                      EventProcessor& processor, Nodes& nodes) {
  auto unfinished = Unfinished(store, "");
  if (!unfinished) return tl::unexpected(unfinished.error());
  std::map<std::string, bool> alive;  // asked once per node
  int taken = 0;
  for (const core::Execution& execution : *unfinished) {
    if (execution.node == nodes.self()) continue;
    auto known = alive.find(execution.node);
    if (known == alive.end()) {
      auto is_alive = nodes.IsAlive(execution.node);
      if (!is_alive) return tl::unexpected(is_alive.error());
      known = alive.emplace(execution.node, *is_alive).first;
    }
    if (known->second) continue;
    auto changed = store.Executions().ChangeNode(execution.execution_id, execution.node,
                                                 nodes.self());
    if (!changed) {
      if (changed.error().code == core::ErrorCode::kNotFound) continue;
      return tl::unexpected(changed.error());
    }
    if (!*changed) continue;  // another live node took it
    ++taken;
    auto resumed = Resume(store, compute, processor, execution,
                          "its node " + execution.node + " went silent and the task cannot be " +
                              "reached from node " + nodes.self());
    if (!resumed) return tl::unexpected(resumed.error());
    if (*resumed && execution.status == core::ExecutionStatus::kTerminating) {
      (void)compute.Kill(execution.execution_id, contract::KillReason::kUser);
    }
  }
  return taken;
}

}  // namespace runvoy::service
