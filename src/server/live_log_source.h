#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/records.h"
#include "core/status.h"

namespace runvoy::server {

// What the WebSocket endpoint (/api/v1/ws) needs from the rest of the server: token checks,
// the stored backlog of an execution and whether it has finished. Implemented by the server's
// composition (store + auth); faked in tests. Every method may block (store calls): the
// transport calls them on its worker pool, never on an I/O thread. Thread-safe.
class LiveLogSource {
 public:
  // The final state of an execution, once it has one.
  struct Finished {
    core::ExecutionStatus status = core::ExecutionStatus::kSucceeded;
    std::optional<int> exit_code;
  };

  virtual ~LiveLogSource() = default;

  // May the holder of `token` follow `execution_id`? Errors answer the refused upgrade with the
  // matching HTTP status: kInvalidRequest 400; kUnauthorized, kInvalidApiKey (unknown or expired
  // token) 401; kForbidden (token of another execution) 403; kNotFound 404; kDatabase,
  // kServiceUnavailable 503.
  virtual core::Result<void> Authorize(const std::string& execution_id,
                                       const std::string& token) = 0;

  // Calls `visit` with each stored event of `execution_id` whose sequence is greater than
  // `after_sequence`, in sequence order, until `visit` returns false or the events run out.
  virtual core::Result<void> ReadAfter(const std::string& execution_id, int64_t after_sequence,
                                       const std::function<bool(const core::LogEvent&)>& visit) = 0;

  // The execution's final state, or nullopt while it is still running.
  virtual core::Result<std::optional<Finished>> FinishedState(const std::string& execution_id) = 0;
};

}  // namespace runvoy::server
