#pragma once

#include "contract/compute.h"
#include "core/status.h"

namespace runvoy::service {

struct Outcome {
  core::ExecutionStatus status;
  int exit_code;
};

// Final status and exit code of SPEC.md §2.3 from how the task ended and the status the record
// had: once a user asked to kill it (TERMINATING), it ends STOPPED 130 whatever the command did.
Outcome DecideOutcome(const contract::TaskExit& exit, core::ExecutionStatus current);

}  // namespace runvoy::service
