#include "service/outcome.h"

namespace runvoy::service {

Outcome DecideOutcome(const contract::TaskExit& exit, core::ExecutionStatus current) {
  using Cause = contract::TaskExit::Cause;
  using core::ExecutionStatus;
  if (current == ExecutionStatus::kTerminating) {
    return {ExecutionStatus::kStopped, core::kExitStoppedByUser};
  }
  switch (exit.cause) {
    case Cause::kExited:
      if (exit.exit_code == 0) return {ExecutionStatus::kSucceeded, 0};
      return {ExecutionStatus::kFailed, exit.exit_code};
    case Cause::kSignaled: return {ExecutionStatus::kFailed, 128 + exit.signal};
    case Cause::kKilledByUser: return {ExecutionStatus::kStopped, core::kExitStoppedByUser};
    case Cause::kTimedOut: return {ExecutionStatus::kFailed, core::kExitTimedOut};
    case Cause::kFailedToStart: return {ExecutionStatus::kFailed, core::kExitCouldNotStart};
  }
  return {ExecutionStatus::kFailed, core::kExitCouldNotStart};
}

}  // namespace runvoy::service
