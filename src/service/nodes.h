#pragma once

// The servers (nodes) sharing a store: each writes a heartbeat into the store; a node silent
// for longer than the node timeout is presumed gone, and a live one takes over its executions.
// With one server this is invisible.

#include <chrono>
#include <string>

#include "contract/store.h"
#include "core/error.h"
#include "core/time.h"

namespace runvoy::service {

class Nodes {
 public:
  Nodes(contract::Store& store, const core::Clock& clock, std::string self,
        std::chrono::milliseconds timeout);

  const std::string& self() const { return self_; }
  // How often Beat should run: a few times per timeout, so one late beat is no silence.
  std::chrono::milliseconds BeatInterval() const;

  // Records that this node is alive now.
  core::Result<void> Beat();
  // True when `node` is this one or has beaten within the timeout. A node that never beat
  // (e.g. it predates heartbeats) is silent.
  core::Result<bool> IsAlive(const std::string& node);

 private:
  contract::Store& store_;
  const core::Clock& clock_;
  const std::string self_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace runvoy::service
