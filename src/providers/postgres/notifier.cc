#include "providers/postgres/notifier.h"

#include <algorithm>
#include <array>
#include <utility>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace runvoy::providers::postgres {
namespace {

constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kMaxRetry{2000};
// How often an idle listening connection is probed, so a server that vanished without closing
// the socket is noticed.
constexpr std::chrono::milliseconds kProbeInterval{10000};
// The longest Listen waits for the first LISTEN (a slow server only delays the first notices).
constexpr std::chrono::milliseconds kListenWait{5000};

}  // namespace

PostgresNotifier::PostgresNotifier(Pool& pool, ConnectSettings settings, std::string channel)
    : pool_(pool),
      settings_(std::move(settings)),
      channel_(std::move(channel)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

PostgresNotifier::~PostgresNotifier() {
  Stop();
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

Result<void> PostgresNotifier::Publish(const contract::Notice& notice) {
  const std::string payload = contract::EncodeNotice(notice);
  return pool_.Run<void>([&](Connection& c) -> Result<void> {
    auto sent = c.Query("SELECT pg_notify($1, $2)", Params().Add(channel_).Add(payload));
    if (!sent) {
      return tl::unexpected(sent.error());
    }
    return {};
  });
}

void PostgresNotifier::Listen(Listener listener) {
  {
    std::scoped_lock lock(stop_mutex_);
    if (thread_.joinable()) {
      return;
    }
    listener_ = std::move(listener);
    thread_ = std::jthread([this](const std::stop_token& stop) { Loop(stop); });
  }
  std::unique_lock lock(attempted_mutex_);
  attempted_changed_.wait_for(
      lock, std::min<std::chrono::milliseconds>(settings_.connect_timeout, kListenWait),
      [this] { return attempted_; });
}

void PostgresNotifier::Stop() {
  std::scoped_lock lock(stop_mutex_);
  if (!thread_.joinable()) {
    return;
  }
  thread_.request_stop();
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  // Called by the listener itself: no further call follows this one; the thread ends after it.
  if (std::this_thread::get_id() == thread_.get_id()) {
    return;
  }
  thread_.join();
  thread_ = std::jthread();
  listening_ = false;
}

void PostgresNotifier::MarkAttempted() {
  {
    std::scoped_lock lock(attempted_mutex_);
    attempted_ = true;
  }
  attempted_changed_.notify_all();
}

bool PostgresNotifier::Wait(int fd, std::chrono::milliseconds timeout) {
  std::array<pollfd, 2> fds = {pollfd{wake_fd_, POLLIN, 0}, pollfd{fd, POLLIN, 0}};
  const int count = fd >= 0 ? 2 : 1;
  (void)poll(fds.data(), static_cast<nfds_t>(count), static_cast<int>(timeout.count()));
  return (fds[0].revents & POLLIN) != 0;
}

void PostgresNotifier::Deliver(const contract::Notice& notice) {
  if (listener_) {
    listener_(notice);
  }
}

bool PostgresNotifier::Connect(PGconn* conn) {
  // Asynchronous, so that Stop never waits for a connect timeout.
  const auto deadline = std::chrono::steady_clock::now() + settings_.connect_timeout;
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD) {
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    const auto events = static_cast<int16_t>(status == PGRES_POLLING_READING ? POLLIN : POLLOUT);
    std::array<pollfd, 2> fds = {pollfd{wake_fd_, POLLIN, 0}, pollfd{PQsocket(conn), events, 0}};
    (void)poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if ((fds[0].revents & POLLIN) != 0) {
      return false;  // Stop: the loop sees the request
    }
    if (fds[1].revents != 0) {
      status = PQconnectPoll(conn);
    }
  }
  return true;
}

PGconn* PostgresNotifier::ConnectAndListen() {
  PGconn* conn = ConnectRaw(settings_, /*start_only=*/true);
  bool up = conn != nullptr && Connect(conn);
  if (up) {
    // LISTEN takes no parameters: the channel goes in as an escaped identifier.
    char* quoted = PQescapeIdentifier(conn, channel_.c_str(), channel_.size());
    const std::string sql = "LISTEN " + std::string(quoted == nullptr ? "" : quoted);
    PQfreemem(quoted);
    PGresult* result = PQexec(conn, sql.c_str());
    up = result != nullptr && PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
  }
  if (!up) {
    PQfinish(conn);
    return nullptr;
  }
  return conn;
}

bool PostgresNotifier::DeliverArrived(PGconn* conn) {
  bool any = false;
  while (PGnotify* notify = PQnotifies(conn)) {
    any = true;
    auto notice = contract::DecodeNotice(notify->extra == nullptr ? "" : notify->extra);
    PQfreemem(notify);
    if (notice) {
      Deliver(*notice);
    }
  }
  return any;
}

bool PostgresNotifier::Serve(PGconn* conn, const std::stop_token& stop) {
  const int fd = PQsocket(conn);
  while (!stop.stop_requested()) {
    if (Wait(fd, kProbeInterval)) {
      return false;
    }
    if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
      return true;
    }
    const bool arrived = DeliverArrived(conn);
    pollfd readable{fd, POLLIN, 0};
    if (arrived || poll(&readable, 1, 0) != 0) {
      continue;
    }
    // A timeout or a message that was no notice: an empty query proves the link is alive.
    PGresult* probe = PQexec(conn, "");
    const bool alive = probe != nullptr && PQresultStatus(probe) == PGRES_EMPTY_QUERY;
    PQclear(probe);
    if (!alive || PQstatus(conn) != CONNECTION_OK) {
      return true;
    }
    DeliverArrived(conn);  // notices that came in with the probe's answer
  }
  return false;
}

void PostgresNotifier::Loop(const std::stop_token& stop) {
  bool may_have_missed = false;  // false only before the first successful LISTEN
  std::chrono::milliseconds retry = kFirstRetry;
  while (!stop.stop_requested()) {
    PGconn* conn = ConnectAndListen();
    MarkAttempted();
    if (conn == nullptr) {
      may_have_missed = true;
      if (Wait(-1, retry)) {
        return;
      }
      retry = std::min(retry * 2, kMaxRetry);
      continue;
    }
    retry = kFirstRetry;
    listening_ = true;
    if (may_have_missed) {
      contract::Notice missed;
      missed.kind = contract::Notice::Kind::kNewEvents;  // with no execution_id: re-read
      Deliver(missed);
    }
    may_have_missed = true;
    const bool lost = Serve(conn, stop);
    listening_ = false;
    PQfinish(conn);
    if (!lost) {
      return;
    }
  }
}

}  // namespace runvoy::providers::postgres
