#pragma once

#include <optional>
#include <string_view>

namespace runvoy::core {

// Execution lifecycle of SPEC.md §2.3.
enum class ExecutionStatus { kStarting, kRunning, kSucceeded, kFailed, kStopped, kTerminating };

std::string_view StatusName(ExecutionStatus status);  // "STARTING", ...
std::optional<ExecutionStatus> ParseStatus(std::string_view name);
bool IsTerminal(ExecutionStatus status);
// The transition table: STARTING→RUNNING|FAILED|TERMINATING; RUNNING→SUCCEEDED|FAILED|STOPPED|
// TERMINATING; TERMINATING→STOPPED. A task found finished while STARTING also moves straight to
// its true final status (SUCCEEDED or STOPPED included), so those are allowed too.
bool CanTransition(ExecutionStatus from, ExecutionStatus to);

// Exit codes with a fixed meaning (SPEC.md §2.3).
inline constexpr int kExitTimedOut = 124;
inline constexpr int kExitStoppedByUser = 130;
inline constexpr int kExitCouldNotStart = 1;

}  // namespace runvoy::core
