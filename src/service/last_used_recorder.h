#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "contract/store.h"
#include "core/time.h"

namespace runvoy::service {

// Records users' last_used in the background so authenticated requests never wait for it:
// Touch() only notes the time; a thread writes the newest time per user about once a second.
class LastUsedRecorder {
 public:
  explicit LastUsedRecorder(contract::Store& store);
  ~LastUsedRecorder();  // flushes what is pending
  LastUsedRecorder(const LastUsedRecorder&) = delete;
  LastUsedRecorder& operator=(const LastUsedRecorder&) = delete;

  void Touch(const std::string& email, core::TimePoint when);

 private:
  void Run(std::stop_token stop);
  void Flush();

  contract::Store& store_;
  std::mutex mutex_;  // guards pending_
  std::condition_variable_any wake_;
  std::map<std::string, core::TimePoint> pending_;
  std::jthread thread_;
};

}  // namespace runvoy::service
