#include "providers/local/local_provider.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.h"
#include "core/byte_count.h"
#include "core/image_reference.h"
#include "core/log.h"
#include "providers/local/event_log.h"
#include "providers/local/image/image_store.h"
#include "providers/local/sandbox.h"
#include "providers/local/supervisor.h"

namespace runvoy::providers::local {
namespace {

using contract::Capabilities;
using contract::EventSink;
using contract::KillReason;
using contract::TaskExit;
using contract::TaskSpec;
using contract::TaskState;
using core::ErrorCode;
using core::Fail;
using core::Result;

constexpr size_t kMaxBatch = 8192;
constexpr size_t kMaxQueued = 4 * kMaxBatch;  // the rest waits in the events file

bool ValidExecutionId(const std::string& id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return false;
  }
  return true;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

struct Options {
  std::string data_dir;
  std::string runvoy_binary;
  std::string network = "none";
  std::string user = "nobody";
  int pids_limit = 512;
  uint64_t workspace_bytes = 1ULL << 30;
  int64_t image_cache_bytes = int64_t{10} << 30;  // 0 = unbounded
  const core::Clock* clock = nullptr;
};

// A size for a tmpfs or the image cache: from 1 MiB (a tmpfs of size 0 would have no limit at
// all) to 1 TiB.
std::optional<uint64_t> ParseSizeSetting(const std::string& text) {
  const auto bytes = core::ParseByteCount(text);
  if (!bytes || *bytes < (int64_t{1} << 20) || *bytes > (int64_t{1} << 40))
    return std::nullopt;
  return static_cast<uint64_t>(*bytes);
}

// What the provider knows of one execution whose files it tails.
struct Tail {
  std::string execution_id;
  std::string dir;
  int wd = -1;
  int fd = -1;  // the events file, once it exists
  EventDecoder decoder;
  int64_t after_sequence = 0;
  std::optional<int64_t> started_ms;
  bool started_delivered = false;
  std::vector<core::LogEvent> queue;  // read, not yet accepted by the sink
  std::optional<TaskExit> exit;       // read, not yet accepted by the sink
};

class LocalProvider final : public contract::ComputeProvider {
 public:
  explicit LocalProvider(Options options);
  ~LocalProvider() override;

  std::string Name() const override { return "local"; }
  Capabilities Describe() const override {
    Capabilities c;
    c.survives_server_restart = true;
    return c;
  }
  void SetEventSink(EventSink& sink) override { sink_.store(&sink); }
  Result<std::string> Start(const TaskSpec& spec) override;
  Result<void> Attach(const std::string& execution_id, const std::string& task_ref,
                      int64_t after_sequence) override;
  Result<void> Kill(const std::string& execution_id, KillReason reason) override;
  Result<std::vector<TaskState>> List() override;
  Result<void> CheckImage(const contract::ImageSpec& image) override;
  Result<void> ImportImage(const contract::ImageSpec& image,
                           const std::string& tarball_path) override;

  Result<void> Init();

 private:
  std::string DirOf(const std::string& execution_id) const {
    return executions_dir_ + "/" + execution_id;
  }
  Result<pid_t> SpawnSupervisor(const std::string& dir, int lock_fd, int spec_fd, int log_fd);
  Result<void> Track(const std::string& execution_id, int64_t after_sequence);
  void WatchLoop();
  // Delivers what is new for `id`; `check_alive` also notices a supervisor that died.
  void Process(const std::string& id, bool check_alive);
  // Offers the queued events to the sink in batches; false when it refused one.
  bool Deliver(Tail& tail);
  // Reads new records into the queue; false when it stopped early because the queue is full.
  bool ReadEvents(Tail& tail);
  core::TimePoint Now() const {
    if (options_.clock != nullptr)
      return options_.clock->Now();
    return std::chrono::time_point_cast<std::chrono::milliseconds>(core::SystemClock::now());
  }

  Options options_;
  std::string executions_dir_;
  std::atomic<EventSink*> sink_{nullptr};
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  int epoll_fd_ = -1;
  std::thread watcher_;
  std::atomic<bool> stop_{false};

  std::mutex mu_;  // guards the maps and pending_; Tail contents belong to the watcher thread
  std::map<std::string, std::unique_ptr<Tail>> tails_;
  std::map<int, std::string> by_wd_;
  std::set<std::string> pending_;  // tracked since the watcher last looked
};

LocalProvider::LocalProvider(Options options)
    : options_(std::move(options)), executions_dir_(options_.data_dir + "/executions") {}

Result<void> LocalProvider::Init() {
  std::error_code ec;
  std::filesystem::create_directories(executions_dir_, ec);
  if (ec) {
    return Fail(ErrorCode::kInternal, "cannot create " + executions_dir_, ec.message());
  }
  ::chmod(executions_dir_.c_str(), 0700);
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (inotify_fd_ < 0 || wake_fd_ < 0 || epoll_fd_ < 0) {
    return Fail(ErrorCode::kInternal, "cannot set up the local provider", std::strerror(errno));
  }
  struct epoll_event ev;
  ev.events = EPOLLIN;
  ev.data.fd = inotify_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, inotify_fd_, &ev);
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  watcher_ = std::thread([this] { WatchLoop(); });
  return {};
}

LocalProvider::~LocalProvider() {
  stop_.store(true);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (watcher_.joinable())
    watcher_.join();
  for (auto& [id, tail] : tails_) {
    if (tail->fd >= 0)
      ::close(tail->fd);
  }
  for (int fd : {inotify_fd_, wake_fd_, epoll_fd_}) {
    if (fd >= 0)
      ::close(fd);
  }
}

Result<pid_t> LocalProvider::SpawnSupervisor(const std::string& dir, int lock_fd, int spec_fd,
                                             int log_fd) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return Fail(ErrorCode::kServiceUnavailable, "cannot start the supervisor",
                std::strerror(errno));
  }
  // Everything the children need is prepared before fork: they only make async-signal-safe
  // calls.
  std::string binary = options_.runvoy_binary;
  std::string command = kSuperviseCommand;
  std::string dir_arg = dir;
  std::string fd_arg = "3";
  char* argv[] = {binary.data(), command.data(), dir_arg.data(), fd_arg.data(), nullptr};
  std::string path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path.data(), nullptr};
  sigset_t block;
  sigemptyset(&block);
  for (int sig : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP, SIGCHLD})
    sigaddset(&block, sig);

  const pid_t child = ::fork();
  if (child < 0) {
    ::close(report[0]);
    ::close(report[1]);
    return Fail(ErrorCode::kServiceUnavailable, "cannot start the supervisor",
                std::strerror(errno));
  }
  if (child == 0) {
    // Detached: own session, and a grandchild, so that the server is not its parent. Kill
    // signals stay blocked until the supervisor's signalfd picks them up.
    ::sigprocmask(SIG_SETMASK, &block, nullptr);
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild != 0) {
      if (grandchild > 0)
        (void)!::write(report[1], &grandchild, sizeof grandchild);
      ::_exit(grandchild > 0 ? 0 : 1);
    }
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 65; ++sig)
      ::sigaction(sig, &dfl, nullptr);
    ::dup2(spec_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::dup2(lock_fd, 3);
    ::syscall(SYS_close_range, 4U, ~0U, 0);
    ::execve(binary.c_str(), argv, envp);
    ::_exit(127);
  }
  ::close(report[1]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  pid_t supervisor = -1;
  const ssize_t n = ::read(report[0], &supervisor, sizeof supervisor);
  ::close(report[0]);
  if (n != sizeof supervisor || supervisor <= 0) {
    return Fail(ErrorCode::kServiceUnavailable, "cannot start the supervisor");
  }
  return supervisor;
}

Result<std::string> LocalProvider::Start(const TaskSpec& spec) {
  if (!ValidExecutionId(spec.execution_id)) {
    return Fail(ErrorCode::kInvalidRequest, "invalid execution id");
  }
  if (sink_.load() == nullptr)
    return Fail(ErrorCode::kInternal, "no event sink set");
  const std::string dir = DirOf(spec.execution_id);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      return Fail(ErrorCode::kConflict, "execution already started");
    return Fail(ErrorCode::kServiceUnavailable, "cannot create " + dir, std::strerror(errno));
  }
  auto fail_and_clean = [&](core::Error error) -> Result<std::string> {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return tl::unexpected(std::move(error));
  };
  // The lock is taken here and inherited: the supervisor counts as alive from the start.
  const int lock_fd = ::open((dir + "/" + kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  const int log_fd =
      ::open((dir + "/supervisor.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int sock[2] = {-1, -1};
  if (lock_fd < 0 || log_fd < 0 || ::flock(lock_fd, LOCK_EX) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) != 0) {
    const int err = errno;
    for (int fd : {lock_fd, log_fd}) {
      if (fd >= 0)
        ::close(fd);
    }
    return fail_and_clean(core::Error{ErrorCode::kServiceUnavailable, "cannot start the supervisor",
                                      std::strerror(err)});
  }
  // Above 0..3 so that the child's dup2 calls cannot clobber one another.
  const int high_lock = ::fcntl(lock_fd, F_DUPFD_CLOEXEC, 10);
  const int high_log = ::fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
  const int high_spec = ::fcntl(sock[1], F_DUPFD_CLOEXEC, 10);
  ::close(lock_fd);
  ::close(log_fd);
  ::close(sock[1]);
  auto pid = SpawnSupervisor(dir, high_lock, high_spec, high_log);
  ::close(high_lock);
  ::close(high_log);
  ::close(high_spec);
  if (!pid) {
    ::close(sock[0]);
    return fail_and_clean(pid.error());
  }
  (void)common::WriteFileAtomically(dir + "/" + kPidFile, std::to_string(*pid), false);

  SupervisorSpec supervisor_spec;
  supervisor_spec.task = spec;
  supervisor_spec.data_dir = options_.data_dir;
  supervisor_spec.network = options_.network;
  supervisor_spec.user = options_.user;
  supervisor_spec.pids_limit = options_.pids_limit;
  supervisor_spec.workspace_bytes = options_.workspace_bytes;
  supervisor_spec.image_cache_bytes = options_.image_cache_bytes;
  std::string payload = EncodeSupervisorSpec(supervisor_spec);
  size_t done = 0;
  bool sent = true;
  while (done < payload.size()) {
    const ssize_t n = ::send(sock[0], payload.data() + done, payload.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      sent = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  std::fill(payload.begin(), payload.end(), '\0');
  ::close(sock[0]);
  if (!sent) {
    // The supervisor died before it read its spec; it leaves no exit record, so the watcher
    // reports the task as failed once it notices.
    ::kill(*pid, SIGKILL);
  }
  if (auto r = Track(spec.execution_id, 0); !r)
    return tl::unexpected(r.error());
  return std::to_string(*pid);
}

Result<void> LocalProvider::Track(const std::string& execution_id, int64_t after_sequence) {
  const std::string dir = DirOf(execution_id);
  std::lock_guard lock(mu_);
  if (tails_.count(execution_id) != 0)
    return {};
  auto tail = std::make_unique<Tail>();
  tail->execution_id = execution_id;
  tail->dir = dir;
  tail->after_sequence = after_sequence;
  tail->wd = ::inotify_add_watch(inotify_fd_, dir.c_str(),
                                 IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE);
  if (tail->wd < 0) {
    return Fail(ErrorCode::kInternal, "cannot watch " + dir, std::strerror(errno));
  }
  by_wd_[tail->wd] = execution_id;
  tails_[execution_id] = std::move(tail);
  pending_.insert(execution_id);
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  return {};
}

Result<void> LocalProvider::Attach(const std::string& execution_id, const std::string&,
                                   int64_t after_sequence) {
  if (!ValidExecutionId(execution_id) || !FileExists(DirOf(execution_id))) {
    return Fail(ErrorCode::kNotFound, "no trace of execution " + execution_id);
  }
  return Track(execution_id, after_sequence);
}

Result<void> LocalProvider::Kill(const std::string& execution_id, KillReason reason) {
  if (!ValidExecutionId(execution_id))
    return {};
  const std::string dir = DirOf(execution_id);
  if (!SupervisorAlive(dir))
    return {};
  auto text = common::ReadWholeFile(dir + "/" + kPidFile);
  if (!text)
    return {};
  const pid_t pid = static_cast<pid_t>(std::atol(text->c_str()));
  if (pid <= 1)
    return {};
  const int sig = reason == KillReason::kTimeout ? SIGUSR2 : SIGUSR1;
  if (::kill(pid, sig) != 0 && errno != ESRCH) {
    return Fail(ErrorCode::kInternal, "cannot signal the supervisor", std::strerror(errno));
  }
  return {};
}

Result<std::vector<TaskState>> LocalProvider::List() {
  std::vector<TaskState> out;
  DIR* d = ::opendir(executions_dir_.c_str());
  if (d == nullptr) {
    return Fail(ErrorCode::kServiceUnavailable, "cannot read " + executions_dir_,
                std::strerror(errno));
  }
  while (struct dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (!ValidExecutionId(name))
      continue;
    const std::string dir = DirOf(name);
    TaskState state;
    state.execution_id = name;
    // The task is over once its exit record exists, even while its supervisor winds down.
    state.running = SupervisorAlive(dir) && !FileExists(dir + "/" + kExitFile);
    if (auto pid = common::ReadWholeFile(dir + "/" + kPidFile))
      state.task_ref = *pid;
    out.push_back(std::move(state));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const TaskState& a, const TaskState& b) { return a.execution_id < b.execution_id; });
  return out;
}

Result<void> LocalProvider::ImportImage(const contract::ImageSpec& image,
                                        const std::string& tarball_path) {
  if (image.reference == "host")
    return Fail(ErrorCode::kInvalidRequest, "\"host\" is reserved and cannot be imported");
  auto reference = core::ParseImageReference(image.reference);
  if (!reference)
    return tl::unexpected(reference.error());
  image::ImageStore store(options_.data_dir + "/images", options_.image_cache_bytes);
  auto imported = store.Import(*reference, tarball_path);
  if (!imported)
    return tl::unexpected(imported.error());
  return {};
}

Result<void> LocalProvider::CheckImage(const contract::ImageSpec& image) {
  // The sandbox runs programs of the host's own architecture only.
  struct utsname host;
  if (!image.runtime_platform.empty() && ::uname(&host) == 0) {
    const std::string machine = host.machine;
    const std::string platform = machine == "aarch64" ? "Linux/ARM64"
                                 : machine == "x86_64" ? "Linux/X86_64"
                                                       : "Linux/" + machine;
    if (image.runtime_platform != platform) {
      return Fail(ErrorCode::kInvalidRequest, "the local sandbox runs " + platform +
                                                  " programs only, not " + image.runtime_platform);
    }
  }
  return CheckRootfs(image.reference);
}

void LocalProvider::WatchLoop() {
  auto last_check = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    struct epoll_event events[4];
    const int n = ::epoll_wait(epoll_fd_, events, 4, 500);
    std::set<std::string> dirty;
    {
      std::lock_guard lock(mu_);
      dirty.swap(pending_);
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_fd_) {
        uint64_t value;
        (void)!::read(wake_fd_, &value, sizeof value);
      } else if (events[i].data.fd == inotify_fd_) {
        alignas(struct inotify_event) char buf[16384];
        for (;;) {
          const ssize_t len = ::read(inotify_fd_, buf, sizeof buf);
          if (len <= 0)
            break;
          std::lock_guard lock(mu_);
          for (ssize_t off = 0; off < len;) {
            const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
            if (auto it = by_wd_.find(ev->wd); it != by_wd_.end())
              dirty.insert(it->second);
            off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
          }
        }
      }
    }
    if (stop_.load())
      break;
    bool check_alive = false;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_check >= std::chrono::milliseconds(500)) {
      last_check = now;
      check_alive = true;
      std::lock_guard lock(mu_);
      for (const auto& [id, tail] : tails_)
        dirty.insert(id);
    }
    for (const auto& id : dirty)
      Process(id, check_alive);
  }
}

bool LocalProvider::Deliver(Tail& tail) {
  EventSink* sink = sink_.load();
  while (!tail.queue.empty()) {
    if (tail.queue.size() <= kMaxBatch) {
      if (!sink->OnOutput(tail.execution_id, tail.queue))
        return false;
      tail.queue.clear();
      return true;
    }
    std::vector<core::LogEvent> batch(std::make_move_iterator(tail.queue.begin()),
                                      std::make_move_iterator(tail.queue.begin() + kMaxBatch));
    if (!sink->OnOutput(tail.execution_id, batch)) {
      std::move(batch.begin(), batch.end(), tail.queue.begin());
      return false;
    }
    tail.queue.erase(tail.queue.begin(), tail.queue.begin() + kMaxBatch);
  }
  return true;
}

bool LocalProvider::ReadEvents(Tail& tail) {
  if (tail.fd < 0) {
    tail.fd = ::open((tail.dir + "/" + kEventsFile).c_str(), O_RDONLY | O_CLOEXEC);
    if (tail.fd < 0)
      return true;  // nothing written yet
  }
  char buf[1 << 16];
  while (tail.queue.size() < kMaxQueued) {
    const ssize_t n = ::read(tail.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return true;
    std::vector<core::LogEvent> decoded;
    tail.decoder.Feed(std::string_view(buf, static_cast<size_t>(n)), decoded, tail.started_ms);
    for (auto& event : decoded) {
      if (event.sequence <= tail.after_sequence)
        continue;  // delivered before a restart
      tail.after_sequence = event.sequence;
      tail.queue.push_back(std::move(event));
    }
  }
  return false;  // more to read once the queue has drained
}

void LocalProvider::Process(const std::string& id, bool check_alive) {
  Tail* tail;
  {
    std::lock_guard lock(mu_);
    auto it = tails_.find(id);
    if (it == tails_.end())
      return;
    tail = it->second.get();
  }
  EventSink* sink = sink_.load();
  if (sink == nullptr)
    return;
  const std::string exit_path = tail->dir + "/" + kExitFile;
  // Checked before reading: the supervisor writes every event before the exit record.
  bool exited = tail->exit.has_value() || FileExists(exit_path);
  bool dead = false;
  if (!exited && check_alive && !SupervisorAlive(tail->dir)) {
    exited = FileExists(exit_path);
    dead = !exited;
  }
  // A refused delivery (false) is retried on a later pass, in order; nothing is dropped.
  bool at_end = false;
  for (;;) {
    at_end = ReadEvents(*tail);
    if (tail->started_ms && !tail->started_delivered) {
      if (!sink->OnStarted(id, core::FromUnixMillis(*tail->started_ms)))
        return;
      tail->started_delivered = true;
    }
    // Banner lines wait for OnStarted, or for the exit when the task never starts.
    if (!tail->started_delivered && !exited && !dead)
      return;
    if (!Deliver(*tail))
      return;
    if (at_end)
      break;
  }
  if (!exited && !dead)
    return;

  if (!tail->exit) {
    TaskExit exit;
    bool from_supervisor = false;
    if (exited) {
      auto text = common::ReadWholeFile(exit_path);
      auto decoded = text ? DecodeExit(*text) : tl::unexpected(text.error());
      if (decoded) {
        exit = *decoded;
        from_supervisor = true;
      } else {
        exit.cause = TaskExit::Cause::kSignaled;
        exit.signal = SIGKILL;
        exit.reason = "the exit record of this execution is unreadable";
        exit.at = Now();
      }
    } else {
      exit.cause = tail->started_ms ? TaskExit::Cause::kSignaled : TaskExit::Cause::kFailedToStart;
      exit.signal = tail->started_ms ? SIGKILL : 0;
      exit.exit_code = tail->started_ms ? 0 : 1;
      exit.reason = "the supervisor of this execution died";
      exit.at = Now();
    }
    // A task that started and ended without its supervisor's word gets a line saying why in
    // its own log (one that never started gets the core's "could not start" line).
    if (!from_supervisor && exit.cause == TaskExit::Cause::kSignaled) {
      core::LogEvent line;
      line.sequence = tail->after_sequence + 1;
      line.timestamp_ms = core::ToUnixMillis(exit.at);
      line.stream = core::LogStream::kRunvoy;
      line.message = "### runvoy: " + exit.reason;
      tail->after_sequence = line.sequence;
      tail->queue.push_back(std::move(line));
    }
    tail->exit = exit;
  }
  if (!Deliver(*tail))
    return;
  if (!sink->OnExited(id, *tail->exit))
    return;

  // The sink has stored the exit: the execution's files are no longer needed.
  std::lock_guard lock(mu_);
  ::inotify_rm_watch(inotify_fd_, tail->wd);
  by_wd_.erase(tail->wd);
  if (tail->fd >= 0)
    ::close(tail->fd);
  const std::string dir = tail->dir;
  tails_.erase(id);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec)
    core::log::Warn("", "cannot remove {}: {}", dir, ec.message());
}

Result<std::unique_ptr<contract::ComputeProvider>> MakeLocal(
    const contract::ProviderContext& context) {
  Options options;
  if (!context.data_dir.empty()) {
    std::error_code ec;
    options.data_dir = std::filesystem::absolute(context.data_dir, ec).lexically_normal().string();
    if (ec)
      options.data_dir = context.data_dir;
    while (options.data_dir.size() > 1 && options.data_dir.back() == '/') {
      options.data_dir.pop_back();
    }
  }
  options.runvoy_binary = context.runvoy_binary;
  options.clock = context.clock;
  if (options.data_dir.empty()) {
    return Fail(ErrorCode::kInvalidRequest, "compute.local needs a data directory");
  }
  if (options.runvoy_binary.empty() || ::access(options.runvoy_binary.c_str(), X_OK) != 0) {
    return Fail(ErrorCode::kInvalidRequest, "compute.local: the runvoy binary \"" +
                                                options.runvoy_binary + "\" is not executable");
  }
  options.network = context.Get("network", "none");
  if (options.network != "none" && options.network != "host") {
    return Fail(
        ErrorCode::kInvalidRequest,
        "compute.local.network must be \"none\" or \"host\", not \"" + options.network + "\"");
  }
  options.user = context.Get("user", "nobody");
  uid_t uid;
  gid_t gid;
  if (auto r = LookupUser(options.user, uid, gid); !r)
    return tl::unexpected(r.error());
  const std::string pids = context.Get("pids_limit", "512");
  char* end = nullptr;
  const long pids_limit = std::strtol(pids.c_str(), &end, 10);
  if (pids.empty() || *end != '\0' || pids_limit < 1 || pids_limit > 4194304) {
    return Fail(ErrorCode::kInvalidRequest,
                "compute.local.pids_limit must be a positive number, not \"" + pids + "\"");
  }
  options.pids_limit = static_cast<int>(pids_limit);
  const std::string cache = context.Get("image_cache_bytes", "10GiB");
  const auto cache_bytes = cache == "0" ? std::optional<uint64_t>(0) : ParseSizeSetting(cache);
  if (!cache_bytes) {
    return Fail(ErrorCode::kInvalidRequest,
                "compute.local.image_cache_bytes must be 0 (unbounded) or a size from 1MiB to "
                "1TiB, not \"" + cache + "\"");
  }
  options.image_cache_bytes = static_cast<int64_t>(*cache_bytes);
  const std::string workspace = context.Get("workspace_bytes", "1GiB");
  const auto workspace_bytes = ParseSizeSetting(workspace);
  if (!workspace_bytes) {
    return Fail(ErrorCode::kInvalidRequest,
                "compute.local.workspace_bytes must be a size from 1MiB to 1TiB, not \"" +
                    workspace + "\"");
  }
  options.workspace_bytes = *workspace_bytes;
  auto provider = std::make_unique<LocalProvider>(std::move(options));
  if (auto r = provider->Init(); !r)
    return tl::unexpected(r.error());
  return std::unique_ptr<contract::ComputeProvider>(std::move(provider));
}

}  // namespace

void Register(contract::Registry& registry) {
  registry.AddCompute("local",
                      {"network", "user", "image_cache_bytes", "pids_limit", "workspace_bytes"},
                      MakeLocal);
}

}  // namespace runvoy::providers::local
