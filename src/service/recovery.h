#pragma once

#include <string>

#include "contract/compute.h"
#include "contract/store.h"
#include "service/event_processor.h"

namespace runvoy::service {

// At start-up: re-attaches to the tasks of this node's unfinished executions so their remaining
// output and exit are recorded; an execution whose task the provider no longer knows ends FAILED
// with a log line. Returns how many executions were re-attached, or a store error.
core::Result<int> RecoverExecutions(contract::Store& store, contract::ComputeProvider& compute,
                                    EventProcessor& processor, const std::string& node);

}  // namespace runvoy::service
