#include "core/status.h"

#include <array>
#include <utility>

namespace runvoy::core {
namespace {
constexpr std::array<std::pair<ExecutionStatus, std::string_view>, 6> kNames{{
    {ExecutionStatus::kStarting, "STARTING"},
    {ExecutionStatus::kRunning, "RUNNING"},
    {ExecutionStatus::kSucceeded, "SUCCEEDED"},
    {ExecutionStatus::kFailed, "FAILED"},
    {ExecutionStatus::kStopped, "STOPPED"},
    {ExecutionStatus::kTerminating, "TERMINATING"},
}};
}  // namespace

std::string_view StatusName(ExecutionStatus status) {
  for (const auto& [value, name] : kNames) {
    if (value == status) return name;
  }
  return "FAILED";
}

std::optional<ExecutionStatus> ParseStatus(std::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

bool IsTerminal(ExecutionStatus status) {
  return status == ExecutionStatus::kSucceeded || status == ExecutionStatus::kFailed ||
         status == ExecutionStatus::kStopped;
}

bool CanTransition(ExecutionStatus from, ExecutionStatus to) {
  using S = ExecutionStatus;
  switch (from) {
    case S::kStarting:
      return to == S::kRunning || to == S::kFailed || to == S::kTerminating ||
             to == S::kSucceeded || to == S::kStopped;
    case S::kRunning:
      return to == S::kSucceeded || to == S::kFailed || to == S::kStopped ||
             to == S::kTerminating;
    case S::kTerminating:
      return to == S::kStopped;
    case S::kSucceeded:
    case S::kFailed:
    case S::kStopped:
      return false;
  }
  return false;
}

}  // namespace runvoy::core
