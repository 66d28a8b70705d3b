#pragma once

// Brings what other servers sharing the store do to this one: the live log events and ends of
// executions another node supervises reach this server's followers, and a kill asked through
// another server reaches this node's compute provider.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "contract/compute.h"
#include "contract/notifier.h"
#include "contract/store.h"
#include "service/log_feed.h"

namespace runvoy::service {

class PeerRelay {
 public:
  // `has_followers(execution_id)` tells whether this server has followers of an execution (no
  // store reads are spent on executions nobody here follows). Everything must outlive the relay.
  PeerRelay(contract::Store& store, LogFeed& local_feed, contract::ComputeProvider& compute,
            std::string node, std::function<bool(const std::string&)> has_followers);

  // Handles one notice. Called on the notifier's thread, one notice at a time.
  void Handle(const contract::Notice& notice);

 private:
  // Passes the stored events after the last relayed one (or after `first - 1` for an execution
  // seen for the first time) to the local feed.
  void Relay(const std::string& execution_id, int64_t first);
  void RelayEnd(const std::string& execution_id);
  void CatchUp();  // after the notifier may have lost notices

  contract::Store& store_;
  LogFeed& local_feed_;
  contract::ComputeProvider& compute_;
  const std::string node_;
  const std::function<bool(const std::string&)> has_followers_;
  std::map<std::string, int64_t> relayed_;  // execution_id → last sequence passed on
};

}  // namespace runvoy::service
