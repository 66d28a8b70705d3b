#pragma once

// A notifier for a store that one server owns (SQLite): notices go straight back to this
// server's listener, on the publishing thread.

#include <mutex>

#include "contract/notifier.h"

namespace runvoy::contract {

class InProcessNotifier final : public Notifier {
 public:
  Result<void> Publish(const Notice& notice) override;
  void Listen(Listener listener) override;
  void Stop() override;

 private:
  std::mutex mutex_;  // held while a listener runs, so Stop waits for it
  Listener listener_;
};

}  // namespace runvoy::contract
