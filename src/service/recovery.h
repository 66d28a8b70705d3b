#pragma once

#include <string>

#include "contract/compute.h"
#include "contract/store.h"
#include "service/event_processor.h"
#include "service/nodes.h"

namespace runvoy::service {

// At start-up: re-attaches to the tasks of this node's unfinished executions so their remaining
// output and exit are recorded; an execution whose task the provider no longer knows ends FAILED
// with a log line. Returns how many executions were re-attached, or a store error.
core::Result<int> RecoverExecutions(contract::Store& store, contract::ComputeProvider& compute,
                                    EventProcessor& processor, const std::string& node);

// Takes over the unfinished executions of nodes silent for longer than the node timeout: makes
// this node their supervisor (one live node wins each), then re-attaches to their tasks like
// RecoverExecutions, failing those the provider cannot reach from here, and kills those a user
// had asked to stop. Returns how many executions were taken over, or a store error.
core::Result<int> TakeOverSilentNodes(contract::Store& store, contract::ComputeProvider& compute,
                                      EventProcessor& processor, Nodes& nodes);

}  // namespace runvoy::service
