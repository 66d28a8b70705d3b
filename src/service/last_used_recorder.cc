#include "service/last_used_recorder.h"

#include <chrono>

namespace runvoy::service {

LastUsedRecorder::LastUsedRecorder(contract::Store& store)
    : store_(store), thread_([this](std::stop_token stop) { Run(stop); }) {}

LastUsedRecorder::~LastUsedRecorder() {
  thread_.request_stop();
  thread_.join();
  Flush();
}

void LastUsedRecorder::Touch(const std::string& email, core::TimePoint when) {
  std::scoped_lock lock(mutex_);
  pending_[email] = when;
}

void LastUsedRecorder::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
    }
    Flush();
  }
}

void LastUsedRecorder::Flush() {
  std::map<std::string, core::TimePoint> batch;
  {
    std::scoped_lock lock(mutex_);
    batch.swap(pending_);
  }
  for (const auto& [email, when] : batch) {
    // Best effort: a lost update only makes last_used a little older.
    (void)store_.Users().TouchLastUsed(email, when);
  }
}

}  // namespace runvoy::service
