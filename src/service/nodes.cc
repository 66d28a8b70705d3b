#include "service/nodes.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace runvoy::service {
namespace {

std::string HeartbeatKey(const std::string& node) {
  return "node_heartbeat/" + node;
}

}  // namespace

Nodes::Nodes(contract::Store& store, const core::Clock& clock, std::string self,
             std::chrono::milliseconds timeout)
    : store_(store), clock_(clock), self_(std::move(self)), timeout_(timeout) {}

std::chrono::milliseconds Nodes::BeatInterval() const {
  return std::clamp(timeout_ / 4, std::chrono::milliseconds(200), std::chrono::milliseconds(15000));
}

core::Result<void> Nodes::Beat() {
  return store_.Settings().Put(HeartbeatKey(self_),
                               std::to_string(core::ToUnixMillis(clock_.Now())));
}

core::Result<bool> Nodes::IsAlive(const std::string& node) {
  if (node == self_) return true;
  auto stored = store_.Settings().Get(HeartbeatKey(node));
  if (!stored) return tl::unexpected(stored.error());
  if (!*stored) return false;
  int64_t beat_ms = 0;
  const std::string& text = **stored;
  if (std::from_chars(text.data(), text.data() + text.size(), beat_ms).ec != std::errc()) {
    return false;
  }
  return clock_.Now() - core::FromUnixMillis(beat_ms) <= timeout_;
}

}  // namespace runvoy::service
