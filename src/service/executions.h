#pragma once

// Executions (SPEC.md §2.2–2.4): run, list, status, logs, kill, and the WebSocket tokens that let
// a follower read one execution's live logs.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "contract/compute.h"
#include "contract/store.h"
#include "core/ids.h"
#include "core/records.h"
#include "core/time.h"
#include "service/caller.h"
#include "service/images.h"
#include "service/secrets.h"

namespace runvoy::service {

struct RunRequest {
  std::string command;
  std::string image;
  std::map<std::string, std::string> env;
  std::vector<std::string> secrets;
  std::string git_repo;
  std::string git_ref;
  std::string git_path;
  int64_t timeout_seconds = 0;  // 0 = the default
};

struct ExecutionSettings {
  std::string node;
  std::chrono::seconds default_timeout{3600};
  std::chrono::seconds max_timeout{86400};
  std::chrono::milliseconds kill_grace{10000};
  int64_t output_cap_bytes = int64_t{100} * 1024 * 1024;
};

// A started (or, for a repeated Idempotency-Key, the earlier) execution and a fresh WebSocket
// token for the caller.
struct RunAccepted {
  core::Execution execution;
  std::string websocket_token;
};

enum class KillResult { kKilling, kAlreadyFinished };

struct LogsPage {
  core::Execution execution;
  std::optional<std::string> websocket_token;  // while the execution is not finished
};

inline constexpr std::chrono::hours kWebSocketTokenValidity{24};
inline constexpr std::chrono::hours kIdempotencyWindow{24};

// Thread-safe; methods block on the store and the compute provider.
class Executions {
 public:
  Executions(contract::Store& store, contract::ComputeProvider& compute, Images& images,
             Secrets& secrets, const core::Clock& clock, core::IdGenerator& ids,
             ExecutionSettings settings);

  // kInvalidRequest for a bad request, unknown image or secret; kForbidden for a secret the caller
  // may not use; kServiceUnavailable when the compute provider is down.
  core::Result<RunAccepted> Run(const Caller& caller, const RunRequest& request,
                                const std::string& idempotency_key);
  // Streams the caller's visible executions, newest first.
  core::Result<void> List(const Caller& caller, contract::ExecutionFilter filter,
                          const std::function<bool(const core::Execution&)>& visit);
  // kNotFound, kForbidden.
  core::Result<core::Execution> Get(const Caller& caller, const std::string& execution_id);
  core::Result<LogsPage> OpenLogs(const Caller& caller, const std::string& execution_id);
  core::Result<KillResult> Kill(const Caller& caller, const std::string& execution_id);

  // For WebSocket followers: kInvalidRequest when the execution ID is malformed, kUnauthorized
  // for a missing/unknown/expired token, kForbidden when the token belongs to another execution,
  // kNotFound when the execution does not exist.
  core::Result<void> AuthorizeFollower(const std::string& execution_id, const std::string& token);
  core::Result<void> ReadLogs(const std::string& execution_id, int64_t after_sequence,
                              std::size_t limit,
                              const std::function<bool(const core::LogEvent&)>& visit);
  core::Result<std::optional<core::Execution>> Find(const std::string& execution_id);

 private:
  core::Result<void> KillTask(const core::Execution& execution);
  core::Result<void> Validate(const RunRequest& request) const;
  core::Result<std::string> IssueWebSocketToken(const std::string& execution_id,
                                                const std::string& email);
  core::Result<RunAccepted> Replay(const Caller& caller, const std::string& execution_id);
  std::vector<std::string> Banner(const core::Execution& execution, const core::Image& image,
                                  const RunRequest& request) const;
  // Records an execution that could not be handed to the provider as FAILED with a log line.
  void FailToStart(core::Execution execution, const std::string& why);

  contract::Store& store_;
  contract::ComputeProvider& compute_;
  Images& images_;
  Secrets& secrets_;
  const core::Clock& clock_;
  core::IdGenerator& ids_;
  const ExecutionSettings settings_;
};

bool IsValidExecutionId(const std::string& id);

}  // namespace runvoy::service
