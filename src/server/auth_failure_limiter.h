#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "core/time.h"

namespace runvoy::server {

// Counts failed authentications and claims per client IP over a sliding minute (SPEC.md §1).
// Thread-safe.
class AuthFailureLimiter {
 public:
  AuthFailureLimiter(int limit_per_minute, const core::Clock& clock);

  // Whether `ip` is over its limit now; when it is, `retry_after` says for how long.
  bool IsLimited(const std::string& ip, std::chrono::seconds& retry_after);
  void RecordFailure(const std::string& ip);

 private:
  void Prune(std::deque<core::TimePoint>& failures, core::TimePoint now) const;

  const int limit_;
  const core::Clock& clock_;
  std::mutex mutex_;  // guards failures_
  std::map<std::string, std::deque<core::TimePoint>> failures_;
};

}  // namespace runvoy::server
