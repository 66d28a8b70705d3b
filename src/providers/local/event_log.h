#pragma once

// The durable hand-off between a supervisor and the server (files under
// <data_dir>/executions/<execution_id>/):
//   events     appended records, each: u32 payload length (little-endian), then the payload:
//              u8 type 'S' (command started): i64 timestamp_ms
//              u8 type 'E' (log event): i64 sequence, i64 timestamp_ms, u8 stream, u8 partial,
//                                       message bytes
//   exit.json  the TaskExit, written atomically (temp file + rename) once, when done
//   pid        the supervisor's pid (decimal)
//   lock       held with flock(LOCK_EX) by the supervisor while it lives

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contract/compute.h"
#include "core/error.h"
#include "core/records.h"

namespace runvoy::providers::local {

inline constexpr char kEventsFile[] = "events";
inline constexpr char kExitFile[] = "exit.json";
inline constexpr char kPidFile[] = "pid";
inline constexpr char kLockFile[] = "lock";

void AppendStartedRecord(int64_t timestamp_ms, std::string& out);
void AppendEventRecord(const core::LogEvent& event, std::string& out);

// Incremental reader of the events file's bytes.
class EventDecoder {
 public:
  // Appends complete records of `bytes` (any chunking) to `events`; sets `started_ms` when a
  // started record is seen. A torn record at the end waits for the rest. False on corrupt data.
  bool Feed(std::string_view bytes, std::vector<core::LogEvent>& events,
            std::optional<int64_t>& started_ms);

 private:
  std::string buffer_;
};

std::string EncodeExit(const contract::TaskExit& exit);
core::Result<contract::TaskExit> DecodeExit(std::string_view json);

// Whether a process holds the flock on `dir`/lock (the supervisor is alive).
bool SupervisorAlive(const std::string& dir);

}  // namespace runvoy::providers::local
