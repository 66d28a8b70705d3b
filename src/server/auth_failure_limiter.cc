#include "server/auth_failure_limiter.h"

namespace runvoy::server {
namespace {
constexpr std::chrono::minutes kWindow{1};
constexpr std::size_t kMaxTrackedClients = 100000;
}  // namespace

AuthFailureLimiter::AuthFailureLimiter(int limit_per_minute, const core::Clock& clock)
    : limit_(limit_per_minute), clock_(clock) {}

void AuthFailureLimiter::Prune(std::deque<core::TimePoint>& failures, core::TimePoint now) const {
  while (!failures.empty() && now - failures.front() >= kWindow) failures.pop_front();
}

bool AuthFailureLimiter::IsLimited(const std::string& ip, std::chrono::seconds& retry_after) {
  std::scoped_lock lock(mutex_);
  const auto it = failures_.find(ip);
  if (it == failures_.end()) return false;
  const core::TimePoint now = clock_.Now();
  Prune(it->second, now);
  if (static_cast<int>(it->second.size()) < limit_) return false;
  const auto wait = kWindow - (now - it->second.front());
  retry_after = std::chrono::ceil<std::chrono::seconds>(wait);
  if (retry_after.count() < 1) retry_after = std::chrono::seconds(1);
  return true;
}

void AuthFailureLimiter::RecordFailure(const std::string& ip) {
  std::scoped_lock lock(mutex_);
  const core::TimePoint now = clock_.Now();
  if (failures_.size() >= kMaxTrackedClients) {
    // Bound memory under a flood of distinct addresses: drop clients whose window has passed.
    for (auto it = failures_.begin(); it != failures_.end();) {
      Prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
  auto& failures = failures_[ip];
  Prune(failures, now);
  failures.push_back(now);
}

}  // namespace runvoy::server
