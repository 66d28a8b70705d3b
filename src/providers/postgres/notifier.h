#pragma once

// The notifier of the PostgreSQL store: LISTEN/NOTIFY on one channel, payload =
// contract::EncodeNotice. Publish sends NOTIFY from a pooled connection; Listen opens a
// dedicated connection on a thread of its own that reconnects by itself (with backoff) after the
// server goes away, and then tells the listener it may have missed notices (a kNewEvents notice
// with an empty execution_id).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "contract/notifier.h"
#include "providers/postgres/pg_db.h"

namespace runvoy::providers::postgres {

class PostgresNotifier final : public contract::Notifier {
 public:
  // `pool` must outlive the notifier. `channel` is a plain identifier.
  PostgresNotifier(Pool& pool, ConnectSettings settings, std::string channel);
  ~PostgresNotifier() override;
  PostgresNotifier(const PostgresNotifier&) = delete;
  PostgresNotifier& operator=(const PostgresNotifier&) = delete;
  PostgresNotifier(PostgresNotifier&&) = delete;
  PostgresNotifier& operator=(PostgresNotifier&&) = delete;

  // kDatabase when the notice cannot be sent now.
  Result<void> Publish(const contract::Notice& notice) override;
  // Starts the listening thread and returns once its first LISTEN is in place, its first
  // connection attempt failed (it keeps trying then) or 5 s passed, whichever comes first.
  void Listen(Listener listener) override;
  void Stop() override;

  // True while the listening connection is up (for tests and /health details).
  bool Listening() const { return listening_.load(); }

 private:
  void Loop(const std::stop_token& stop);
  // A connection that LISTENs on the channel, or nullptr when the server cannot be reached
  // (or Stop was called meanwhile).
  PGconn* ConnectAndListen();
  // Completes the connection `conn` started; false on failure, timeout or Stop.
  bool Connect(PGconn* conn);
  // Delivers notices until stopped (false) or the connection is lost (true).
  bool Serve(PGconn* conn, const std::stop_token& stop);
  // Delivers the notices libpq has read; false when there were none.
  bool DeliverArrived(PGconn* conn);
  // Waits until the socket `fd` is readable, the wake-up fd fires or `timeout` passes;
  // true when woken (stop requested).
  bool Wait(int fd, std::chrono::milliseconds timeout);
  void Deliver(const contract::Notice& notice);
  void MarkAttempted();

  Pool& pool_;
  const ConnectSettings settings_;
  const std::string channel_;
  Listener listener_;  // set once by Listen before the thread starts
  int wake_fd_ = -1;   // an eventfd: Stop writes to it to end the thread's poll()
  std::atomic<bool> listening_{false};
  std::mutex attempted_mutex_;  // guards attempted_
  std::condition_variable attempted_changed_;
  bool attempted_ = false;
  std::mutex stop_mutex_;  // serialises Stop and Listen (thread_)
  std::jthread thread_;
};

}  // namespace runvoy::providers::postgres
