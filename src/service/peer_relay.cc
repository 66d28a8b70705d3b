#include "service/peer_relay.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/status.h"

namespace runvoy::service {
namespace {

// Events passed to the feed at once while catching up (bounds the memory of one read).
constexpr std::size_t kRelayBatch = 2000;

}  // namespace

PeerRelay::PeerRelay(contract::Store& store, LogFeed& local_feed,
                     contract::ComputeProvider& compute, std::string node,
                     std::function<bool(const std::string&)> has_followers)
    : store_(store),
      local_feed_(local_feed),
      compute_(compute),
      node_(std::move(node)),
      has_followers_(std::move(has_followers)) {}

void PeerRelay::Handle(const contract::Notice& notice) {
  using Kind = contract::Notice::Kind;
  if (notice.execution_id.empty()) {
    CatchUp();
    return;
  }
  if (notice.kind == Kind::kKill) {
    if (notice.node != node_) return;
    const auto reason = notice.detail == "reconcile" ? contract::KillReason::kReconcile
                                                     : contract::KillReason::kUser;
    if (auto killed = compute_.Kill(notice.execution_id, reason); !killed) {
      core::log::Warn("", "kill of {} asked by a peer failed: {}", notice.execution_id,
                      killed.error().message);
    }
    return;
  }
  if (notice.node == node_) return;  // this server's own feed has delivered it already
  if (notice.kind == Kind::kEnded) {
    RelayEnd(notice.execution_id);
    return;
  }
  if (!has_followers_(notice.execution_id)) {
    // A follower arriving later reads the store first, which holds these events already.
    int64_t& relayed = relayed_[notice.execution_id];
    relayed = std::max(relayed, notice.sequence);
    return;
  }
  Relay(notice.execution_id, notice.first_sequence);
}

void PeerRelay::Relay(const std::string& execution_id, int64_t first) {
  const auto known = relayed_.find(execution_id);
  int64_t after = known == relayed_.end() ? std::max<int64_t>(first - 1, 0) : known->second;
  while (true) {
    std::vector<core::LogEvent> events;
    auto read = store_.Logs().Read(execution_id, after, kRelayBatch,
                                   [&events](const core::LogEvent& event) {
                                     events.push_back(event);
                                     return true;
                                   });
    if (!read) {
      // The next notice, or the catch-up after the notifier reconnects, retries.
      core::log::Warn("", "relaying {} failed: {}", execution_id, read.error().message);
      return;
    }
    if (events.empty()) break;
    after = events.back().sequence;
    relayed_[execution_id] = after;
    local_feed_.OnEvents(execution_id, events);
    if (events.size() < kRelayBatch) break;
  }
}

void PeerRelay::RelayEnd(const std::string& execution_id) {
  auto found = store_.Executions().Get(execution_id);
  if (!found || !*found || !core::IsTerminal((*found)->status)) return;
  // An execution never relayed had stored every event before its followers read the store.
  if (relayed_.count(execution_id) > 0 && has_followers_(execution_id)) Relay(execution_id, 1);
  relayed_.erase(execution_id);
  local_feed_.OnFinished(execution_id, (*found)->status, (*found)->exit_code);
}

void PeerRelay::CatchUp() {
  std::vector<std::string> ids;
  for (const auto& [execution_id, sequence] : relayed_) ids.push_back(execution_id);
  for (const std::string& execution_id : ids) {
    if (has_followers_(execution_id)) Relay(execution_id, 1);
    RelayEnd(execution_id);
  }
}

}  // namespace runvoy::service
