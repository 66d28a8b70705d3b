#pragma once

// The domain records runvoy stores and serves. Plain values; the JSON shape of each lives in
// server/ (wire format), the table shape in each store provider.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/role.h"
#include "core/status.h"
#include "core/time.h"

namespace runvoy::core {

enum class UserStatus { kPending, kActive, kRevoked };
std::string_view UserStatusName(UserStatus status);
// The status named by UserStatusName; an unknown name reads as kPending (no key works).
UserStatus UserStatusFromName(std::string_view name);

struct User {
  std::string email;
  Role role = Role::kViewer;
  UserStatus status = UserStatus::kPending;
  std::string api_key_hash;  // hex SHA-256 of the key; empty while pending
  TimePoint created_at;
  std::optional<TimePoint> expires_at;  // pending users only: unclaimed after this → gone
  std::optional<TimePoint> last_used;
  std::string created_by_request_id;
  std::string modified_by_request_id;

  bool revoked() const { return status == UserStatus::kRevoked; }
};

// An invitation to claim a key. Only the token's hash is stored; a key chosen by the admin
// travels sealed under a key derived from the token, so it is readable only with the token.
struct ClaimToken {
  std::string token_hash;  // hex SHA-256 of the token
  std::string email;
  TimePoint created_at;
  TimePoint expires_at;
  bool claimed = false;
  std::string sealed_api_key;  // empty: the key is generated at claim time
};

// Reference parts of SPEC.md §2.5.
struct ImageReference {
  std::string registry;    // empty when none was named
  std::string name;        // path without registry, e.g. "library/ubuntu" kept as given
  std::string tag;         // "latest" by default
  std::string digest;      // "sha256:..." or empty
  std::string normalized;  // full normalised reference used for matching and IDs
};

struct Image {
  std::string image_id;  // "<name>:<tag>-<h8>"
  std::string image;     // the reference as registered
  bool is_default = false;
  int cpu = 256;
  int memory = 512;  // MB
  std::string runtime_platform = "Linux/X86_64";
  std::string image_registry;
  std::string image_name;
  std::string image_tag;
  std::string image_digest;
  std::string normalized;
  std::string task_role_name;
  std::string task_execution_role_name;
  std::string created_by;
  std::vector<std::string> owned_by;
  TimePoint created_at;
  std::string created_by_request_id;
  std::string modified_by_request_id;
};

// What the caller asked for, names only (never values), kept on the execution record.
struct RunRequestSummary {
  std::vector<std::string> env_keys;
  std::vector<std::string> secrets;
  std::string git_repo;
  std::string git_ref;
  std::string git_path;
};

struct ExecutionTimings {
  std::optional<TimePoint> accepted;
  std::optional<TimePoint> started;
  std::optional<TimePoint> first_output;
  std::optional<TimePoint> finished;
};

struct Execution {
  std::string execution_id;
  std::string created_by;
  std::vector<std::string> owned_by;
  std::string command;
  std::string image_id;
  TimePoint started_at;
  std::optional<TimePoint> completed_at;
  ExecutionStatus status = ExecutionStatus::kStarting;
  std::optional<int> exit_code;
  std::string log_stream_name;
  std::string created_by_request_id;
  std::string modified_by_request_id;
  std::string cloud;     // compute provider name
  std::string node;      // the server node that supervises it
  std::string task_ref;  // the provider's own handle for the task
  int timeout_seconds = 0;
  ExecutionTimings timings;
  RunRequestSummary request;
};

enum class LogStream { kStdout, kStderr, kRunvoy };
std::string_view LogStreamName(LogStream stream);
// The stream named by LogStreamName; an unknown name reads as kRunvoy.
LogStream LogStreamFromName(std::string_view name);

// One line (or piece of a split line) of an execution's output.
struct LogEvent {
  int64_t sequence = 0;  // 1, 2, ... per execution; event_id = FormatEventId(sequence)
  int64_t timestamp_ms = 0;
  LogStream stream = LogStream::kStdout;
  std::string message;   // valid UTF-8, without the newline
  bool partial = false;  // more pieces of this line follow
};

struct Secret {
  std::string name;
  std::string key_name;
  std::string description;
  std::string created_by;
  std::vector<std::string> owned_by;
  TimePoint created_at;
  TimePoint updated_at;
  std::string updated_by;
  std::string created_by_request_id;
  std::string modified_by_request_id;
};

// A WebSocket token: 32 URL-safe characters bound to one execution and one user.
struct WebSocketToken {
  std::string token_hash;
  std::string execution_id;
  std::string email;
  TimePoint expires_at;
};

struct AuditEntry {
  int64_t seq = 0;  // per node, 1, 2, ...
  TimePoint time;
  std::string node;
  std::string request_id;
  std::string client_request_id;
  std::string user;
  std::string role;
  std::string method;
  std::string path;  // tokens replaced by ***
  int status = 0;
  std::string client_ip;
  std::string resource;
  std::string detail;
  std::string prev_hash;
  std::string hash;
};

// The execution a run with an Idempotency-Key started; a repeat within 24 h answers with it.
struct IdempotencyRecord {
  std::string email;
  std::string key;
  std::string execution_id;
  TimePoint created_at;
};

}  // namespace runvoy::core
