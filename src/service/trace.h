#pragma once

// Trace (SPEC.md §2.9): the server log lines a request wrote and the records it created or
// modified. Log lines are kept in memory (the newest `capacity` lines of this server), so a
// trace covers recent requests on the node that served them.

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "contract/store.h"
#include "core/log.h"
#include "core/time.h"

namespace runvoy::service {

struct TraceLine {
  core::TimePoint timestamp;
  std::string message;
};

struct Trace {
  std::vector<TraceLine> logs;
  std::vector<std::string> executions;
  std::vector<std::string> secrets;
  std::vector<std::string> users;
  std::vector<std::string> images;
};

// Thread-safe.
class Tracer {
 public:
  Tracer(contract::Store& store, const core::Clock& clock, std::size_t capacity);

  // Feed for core::log::SetListener.
  void Remember(core::log::Level level, std::string_view request_id, std::string_view message);
  core::Result<Trace> Find(const std::string& request_id);

 private:
  struct Line {
    std::string request_id;
    TraceLine line;
  };
  contract::Store& store_;
  const core::Clock& clock_;
  const std::size_t capacity_;
  std::mutex mutex_;  // guards lines_
  std::deque<Line> lines_;
};

}  // namespace runvoy::service
