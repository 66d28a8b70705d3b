#include "contract/in_process_notifier.h"

#include <utility>

namespace runvoy::contract {

Result<void> InProcessNotifier::Publish(const Notice& notice) {
  std::lock_guard lock(mutex_);
  if (listener_) listener_(notice);
  return {};
}

void InProcessNotifier::Listen(Listener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

void InProcessNotifier::Stop() {
  std::lock_guard lock(mutex_);
  listener_ = nullptr;
}

}  // namespace runvoy::contract
