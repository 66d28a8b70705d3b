#pragma once

// What the service layer tells an observer (the server's metrics) about executions, without
// depending on it.

#include <cstddef>

#include "core/records.h"

namespace runvoy::service {

// Every method does nothing unless overridden. Implementations must be thread-safe and cheap:
// they are called on the event path.
class ExecutionObserver {
 public:
  virtual ~ExecutionObserver() = default;

  // `execution` has just turned RUNNING (timings.started set).
  virtual void OnExecutionStarted(const core::Execution& /*execution*/) {}
  // `execution` has just reached its terminal status.
  virtual void OnExecutionFinished(const core::Execution& /*execution*/) {}
  // `lines` log lines of `bytes` message bytes in all were stored.
  virtual void OnLogLines(std::size_t /*lines*/, std::size_t /*bytes*/) {}
  // Storing an event failed.
  virtual void OnStoreError() {}
};

}  // namespace runvoy::service
