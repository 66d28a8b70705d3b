#include "providers/local/supervisor.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include <boost/json.hpp>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/files.h"
#include "common/json_fields.h"
#include "core/image_reference.h"
#include "core/time.h"
#include "providers/local/cgroup.h"
#include "providers/local/event_log.h"
#include "providers/local/git_workspace.h"
#include "providers/local/image/image_store.h"
#include "providers/output/line_splitter.h"
#include "providers/local/sandbox.h"
#include "providers/output/scrubber.h"

namespace runvoy::providers::local {

using output::LinePiece;
using output::LineSplitter;
using output::Scrubber;

namespace {

namespace json = boost::json;
using contract::TaskExit;

void ArmTimer(int fd, int64_t ms, int64_t interval_ms = 0) {
  struct itimerspec spec;
  std::memset(&spec, 0, sizeof spec);
  spec.it_value.tv_sec = ms / 1000;
  spec.it_value.tv_nsec = (ms % 1000) * 1000000;
  if (ms <= 0)
    spec.it_value.tv_nsec = 1;  // fire at once
  spec.it_interval.tv_sec = interval_ms / 1000;
  spec.it_interval.tv_nsec = (interval_ms % 1000) * 1000000;
  ::timerfd_settime(fd, 0, &spec, nullptr);
}

// The output of one stream: scrubbed, then split into lines.
struct StreamState {
  core::LogStream stream;
  int fd = -1;
  Scrubber scrubber;
  LineSplitter splitter;
  StreamState(core::LogStream s, const std::vector<std::string>& secrets)
      : stream(s), scrubber(secrets) {}
};

class Supervisor {
 public:
  Supervisor(std::string dir, SupervisorSpec spec) : dir_(std::move(dir)), spec_(std::move(spec)) {
    for (const auto& s : spec_.task.secrets)
      secret_values_.push_back(s.value);
    // A git token given in the request env is as secret as one given by a secret; so is the
    // credential git sends (its base64 form is what travels).
    for (const char* key : {"GITHUB_TOKEN", "GIT_TOKEN"}) {
      auto it = spec_.task.env.find(key);
      if (it != spec_.task.env.end() && !it->second.empty())
        secret_values_.push_back(it->second);
    }
    if (!spec_.task.git.repo.empty()) {
      git_token_ = FindGitToken(spec_.task);
      if (!git_token_.empty())
        secret_values_.push_back("x-access-token:" + git_token_);
    }
  }

  int Run(int signal_fd);

 private:
  void Emit(core::LogStream stream, std::string message, bool partial);
  void EmitRunvoyLine(const std::string& line);
  void EmitPieces(core::LogStream stream, std::vector<LinePiece>& pieces);
  bool Flush();  // false when the disk did not take everything (kept for the next call)
  void ReadStream(StreamState& state);
  void ReadStatus();
  void RequestKill(TaskExit::Cause cause);
  int Finish(TaskExit exit);
  int FailToStart(const std::string& reason);
  // Fetches (or finds in the cache) the task's image and applies it to `config`: layers, Env,
  // WorkingDir, User. Polls `signal_fd` meanwhile so that a kill ends a fetch.
  core::Result<void> PrepareImage(int signal_fd, SandboxConfig& config);
  bool HandleSignals(int signal_fd);

  std::string dir_;
  SupervisorSpec spec_;
  std::vector<std::string> secret_values_;
  std::string git_token_;
  // Holds the task's image in use (not evictable) until the supervisor exits.
  std::unique_ptr<image::ImageStore> image_store_;
  int events_fd_ = -1;
  int epoll_fd_ = -1;
  std::string pending_;  // encoded records not yet written
  bool append_failing_ = false;  // the last append failed (said once on stderr)
  int64_t next_sequence_ = 1;
  int64_t output_bytes_ = 0;
  bool capped_ = false;

  TaskCgroup cgroup_;
  pid_t init_pid_ = -1;
  bool init_done_ = false;
  int init_status_ = 0;
  int status_fd_ = -1;
  std::string status_bytes_;
  bool started_ = false;
  std::optional<int> command_status_;
  std::string setup_error_;
  std::optional<TaskExit::Cause> kill_cause_;  // kKilledByUser, kTimedOut or kSignaled (limits)
  int grace_fd_ = -1;
  int timeout_fd_ = -1;
  int tick_fd_ = -1;
  int drain_ticks_ = 0;
};

void Supervisor::Emit(core::LogStream stream, std::string message, bool partial) {
  if (stream != core::LogStream::kRunvoy) {
    if (capped_)
      return;
    if (output_bytes_ + static_cast<int64_t>(message.size()) > spec_.task.output_cap_bytes) {
      capped_ = true;
      Emit(core::LogStream::kRunvoy,
           "output limit of " + std::to_string(spec_.task.output_cap_bytes) +
               " bytes reached; further output is dropped",
           false);
      return;
    }
    output_bytes_ += static_cast<int64_t>(message.size());
  }
  core::LogEvent event;
  event.sequence = next_sequence_++;
  event.timestamp_ms = core::ToUnixMillis(core::WallClock().Now());
  event.stream = stream;
  event.message = std::move(message);
  event.partial = partial;
  AppendEventRecord(event, pending_);
}

void Supervisor::EmitPieces(core::LogStream stream, std::vector<LinePiece>& pieces) {
  for (auto& piece : pieces)
    Emit(stream, std::move(piece.message), piece.partial);
  pieces.clear();
}

void Supervisor::EmitRunvoyLine(const std::string& line) {
  // Lines of runvoy's own may quote the command: scrubbed like the output.
  Scrubber scrubber(secret_values_);
  std::string clean;
  scrubber.Feed(line, clean);
  scrubber.Finish(clean);
  LineSplitter splitter;
  std::vector<LinePiece> pieces;
  splitter.Feed(clean, pieces);
  splitter.Finish(pieces);
  if (pieces.empty())
    pieces.push_back(LinePiece{});
  EmitPieces(core::LogStream::kRunvoy, pieces);
}

// What the disk does not take now (it is full) stays pending, in order, and goes out on a later
// call: a record is never torn or dropped.
bool Supervisor::Flush() {
  size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(events_fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (!append_failing_)
        std::fprintf(stderr, "supervisor: cannot append events: %s\n", std::strerror(errno));
      append_failing_ = true;
      pending_.erase(0, done);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  pending_.clear();
  append_failing_ = false;
  return true;
}

void Supervisor::ReadStream(StreamState& state) {
  char buf[65536];
  const ssize_t n = ::read(state.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  std::string clean;
  std::vector<LinePiece> pieces;
  if (n <= 0) {
    state.scrubber.Finish(clean);
    state.splitter.Feed(clean, pieces);
    state.splitter.Finish(pieces);
    EmitPieces(state.stream, pieces);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, state.fd, nullptr);
    ::close(state.fd);
    state.fd = -1;
    return;
  }
  state.scrubber.Feed(std::string_view(buf, static_cast<size_t>(n)), clean);
  state.splitter.Feed(clean, pieces);
  EmitPieces(state.stream, pieces);
}

void Supervisor::ReadStatus() {
  char buf[4096];
  const ssize_t n = ::read(status_fd_, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, status_fd_, nullptr);
    ::close(status_fd_);
    status_fd_ = -1;
    if (!status_bytes_.empty() && status_bytes_[0] == 'E')
      setup_error_ = status_bytes_.substr(1);
    return;
  }
  status_bytes_.append(buf, static_cast<size_t>(n));
  while (!status_bytes_.empty()) {
    if (status_bytes_[0] == 'R') {
      started_ = true;
      AppendStartedRecord(core::ToUnixMillis(core::WallClock().Now()), pending_);
      status_bytes_.erase(0, 1);
    } else if (status_bytes_[0] == 'S' && status_bytes_.size() >= 5) {
      int status;
      std::memcpy(&status, status_bytes_.data() + 1, 4);
      command_status_ = status;
      status_bytes_.erase(0, 5);
    } else {
      break;  // 'E' runs to the end of the pipe; 'S' waits for its bytes
    }
  }
}

void Supervisor::RequestKill(TaskExit::Cause cause) {
  if (kill_cause_ || init_done_)
    return;
  kill_cause_ = cause;
  if (init_pid_ <= 0)
    return;
  // Before the command runs there is nothing to stop gracefully.
  if (cause == TaskExit::Cause::kSignaled || !started_ || spec_.task.kill_grace.count() <= 0) {
    ::kill(init_pid_, SIGKILL);
    return;
  }
  ::kill(init_pid_, SIGTERM);
  ArmTimer(grace_fd_, spec_.task.kill_grace.count());
}

bool Supervisor::HandleSignals(int signal_fd) {
  bool any = false;
  struct signalfd_siginfo info;
  while (::read(signal_fd, &info, sizeof info) == sizeof info) {
    any = true;
    switch (info.ssi_signo) {
      case SIGUSR1:
      case SIGTERM:
      case SIGINT: RequestKill(TaskExit::Cause::kKilledByUser); break;
      case SIGUSR2: RequestKill(TaskExit::Cause::kTimedOut); break;
      case SIGCHLD:
        if (init_pid_ > 0 && !init_done_) {
          int status = 0;
          if (::waitpid(init_pid_, &status, WNOHANG) == init_pid_) {
            init_done_ = true;
            init_status_ = status;
          }
        }
        break;
      default: break;
    }
  }
  return any;
}

int Supervisor::Finish(TaskExit exit) {
  exit.at = core::WallClock().Now();
  // On a full disk, wait for space (up to an hour) rather than lose the last output or the exit
  // record: the server sees the end only once both are written.
  constexpr int kAttempts = 7200;
  // Before the exit record, which must be the supervisor's last change to the directory: the
  // server removes the directory as soon as it has stored the exit.
  ::rmdir((dir_ + "/rootfs").c_str());
  for (int attempt = 1;; ++attempt) {
    if (Flush()) {
      ::fdatasync(events_fd_);
      auto r = common::WriteFileAtomically(dir_ + "/" + kExitFile, EncodeExit(exit));
      if (r)
        break;
      if (attempt == 1 || attempt == kAttempts) {
        std::fprintf(stderr, "supervisor: %s: %s\n", r.error().message.c_str(),
                     r.error().details.c_str());
      }
    }
    if (attempt == kAttempts)
      return 1;
    ::usleep(500 * 1000);
  }
  return 0;
}

int Supervisor::FailToStart(const std::string& reason) {
  EmitRunvoyLine(reason);
  cgroup_.Remove();
  TaskExit exit;
  exit.cause = TaskExit::Cause::kFailedToStart;
  exit.exit_code = 1;
  exit.reason = reason;
  return Finish(exit);
}

core::Result<void> Supervisor::PrepareImage(int signal_fd, SandboxConfig& config) {
  auto reference = core::ParseImageReference(spec_.task.image.reference);
  if (!reference)
    return tl::unexpected(reference.error());
  const std::string cache_dir = spec_.data_dir + "/images";
  image_store_ = std::make_unique<image::ImageStore>(cache_dir, spec_.image_cache_bytes);
  if (auto held = image_store_->Hold(*reference); !held)
    return held;
  // The fetch runs in a child process, so that a kill ends it at once whatever it waits for
  // (a stalled registry included). It reports on a pipe: "P<line>" progress, "E<code> <reason>".
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return core::Fail(core::ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  const pid_t child = ::fork();
  if (child < 0)
    return core::Fail(core::ErrorCode::kInternal, std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    auto send = [fd = pipe_fds[1]](const std::string& message) {
      std::string line = message;
      for (char& c : line) {
        if (c == '\n')
          c = ' ';
      }
      line += '\n';
      (void)!::write(fd, line.data(), line.size());
    };
    image::ImageStore store(cache_dir, spec_.image_cache_bytes);
    image::StoreHooks hooks;
    hooks.progress = [&send](const std::string& line) { send("P" + line); };
    auto fetched = store.Acquire(*reference, hooks);
    if (!fetched) {
      send("E" + std::to_string(static_cast<int>(fetched.error().code)) + " " +
           fetched.error().message);
    }
    ::_exit(fetched ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string buffer;
  std::string failure;
  core::ErrorCode failure_code = core::ErrorCode::kInternal;
  bool open = true;
  while (open) {
    struct pollfd fds[2] = {{pipe_fds[0], POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR)
      break;
    if (fds[1].revents & POLLIN) {
      HandleSignals(signal_fd);
      if (kill_cause_) {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        ::close(pipe_fds[0]);
        return core::Fail(core::ErrorCode::kServiceUnavailable, "cancelled");
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      char chunk[4096];
      const ssize_t n = ::read(pipe_fds[0], chunk, sizeof chunk);
      if (n <= 0) {
        open = n < 0 && errno == EINTR;
        continue;
      }
      buffer.append(chunk, static_cast<size_t>(n));
      size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        const std::string line = buffer.substr(0, newline);
        buffer.erase(0, newline + 1);
        if (line.empty())
          continue;
        if (line[0] == 'P') {
          EmitRunvoyLine("### runvoy: " + line.substr(1));  // like the banner and git's lines
          Flush();
        } else if (line[0] == 'E') {
          const size_t space = line.find(' ');
          failure_code = static_cast<core::ErrorCode>(std::atoi(line.substr(1, space).c_str()));
          failure = space == std::string::npos ? "" : line.substr(space + 1);
        }
      }
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return core::Fail(failure_code, "image " + reference->normalized + ": " +
                                        (failure.empty() ? "the fetch failed" : failure));
  }
  // Fetched: the cache has it now.
  auto prepared = image_store_->Acquire(*reference, {});
  if (!prepared) {
    return core::Fail(prepared.error().code,
                      "image " + reference->normalized + ": " + prepared.error().message,
                      prepared.error().details);
  }
  config.image_layers = prepared->layer_dirs;
  config.env = BuildEnvironment(spec_.task, prepared->config.env);
  // A repository decides the working directory; else the image's, else /workspace.
  if (spec_.task.git.repo.empty() && !prepared->config.working_dir.empty() &&
      prepared->config.working_dir[0] == '/' &&
      prepared->config.working_dir.find("..") == std::string::npos) {
    config.workdir = prepared->config.working_dir;
  }
  // The image's User when it names one (root included); else the configured unprivileged user.
  if (!prepared->config.user.empty()) {
    if (auto r = image::ResolveImageUser(*prepared, prepared->config.user, config.uid, config.gid);
        !r) {
      return core::Fail(r.error().code, "image " + reference->normalized + ": " +
                                            r.error().message);
    }
  }
  return {};
}

int Supervisor::Run(int signal_fd) {
  const std::string events_path = dir_ + "/" + kEventsFile;
  events_fd_ = ::open(events_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (events_fd_ < 0) {
    std::fprintf(stderr, "supervisor: cannot open %s: %s\n", events_path.c_str(),
                 std::strerror(errno));
    return 1;
  }
  for (const auto& line : spec_.task.banner)
    EmitRunvoyLine(line);
  Flush();

  if (auto r = CheckRootfs(spec_.task.image.reference); !r)
    return FailToStart(r.error().message);
  if (auto r = PrepareWorkspace(spec_.task.git); !r)
    return FailToStart(r.error().message);
  SandboxConfig config;
  if (auto r = LookupUser(spec_.user, config.uid, config.gid); !r) {
    return FailToStart(r.error().message);
  }
  config.root_dir = dir_ + "/rootfs";
  config.image_reference = spec_.task.image.reference;
  config.data_dir = spec_.data_dir;
  config.host_network = spec_.network == "host";
  config.command = spec_.task.command;
  config.env = BuildEnvironment(spec_.task);
  config.git = spec_.task.git;
  config.git_token = git_token_;
  config.scrub_values = secret_values_;
  config.workdir = GitWorkingDirectory(spec_.task.git);
  config.workspace_bytes = spec_.workspace_bytes;
  if (spec_.task.image.reference != "host") {
    if (auto r = PrepareImage(signal_fd, config); !r) {
      if (kill_cause_) {
        TaskExit exit;
        exit.cause = *kill_cause_;
        return Finish(exit);
      }
      return FailToStart(r.error().message);
    }
  }
  if (::mkdir(config.root_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return FailToStart(std::string("sandbox: cannot create the root directory: ") +
                       std::strerror(errno));
  }

  CgroupLimits limits;
  limits.cpu = spec_.task.image.cpu;
  limits.memory_mb = spec_.task.image.memory_mb;
  limits.pids_limit = spec_.pids_limit;
  if (auto r = cgroup_.Create(spec_.task.execution_id, limits); !r) {
    return FailToStart("sandbox: " + r.error().message + ": " + r.error().details);
  }

  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  grace_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  timeout_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  tick_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  int out_pipe[2], err_pipe[2], runvoy_pipe[2], status_pipe[2], sync_pipe[2];
  if (epoll_fd_ < 0 || grace_fd_ < 0 || timeout_fd_ < 0 || tick_fd_ < 0 ||
      ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(runvoy_pipe, O_CLOEXEC) != 0 || ::pipe2(status_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(sync_pipe, O_CLOEXEC) != 0) {
    return FailToStart(std::string("sandbox: ") + std::strerror(errno));
  }
  // git clones with the server's network, whatever the task's own network is.
  if (!config.git.repo.empty() && !config.host_network) {
    config.net_fd = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (config.net_fd < 0) {
      return FailToStart(std::string("sandbox: cannot open the network namespace: ") +
                         std::strerror(errno));
    }
  }
  config.stdout_fd = out_pipe[1];
  config.stderr_fd = err_pipe[1];
  config.runvoy_fd = runvoy_pipe[1];
  config.status_fd = status_pipe[1];
  config.sync_fd = sync_pipe[0];

  // A kill that arrived while the supervisor was getting ready ends it before the command runs.
  HandleSignals(signal_fd);
  if (kill_cause_) {
    cgroup_.Remove();
    TaskExit exit;
    exit.cause = *kill_cause_;
    return Finish(exit);
  }

  if (::unshare(CLONE_NEWPID) != 0) {
    return FailToStart(std::string("sandbox: unshare: ") + std::strerror(errno));
  }
  init_pid_ = ::fork();
  if (init_pid_ < 0)
    return FailToStart(std::string("sandbox: fork: ") + std::strerror(errno));
  if (init_pid_ == 0)
    RunInit(config);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(runvoy_pipe[1]);
  if (config.net_fd >= 0)
    ::close(config.net_fd);
  ::close(status_pipe[1]);
  ::close(sync_pipe[0]);
  if (auto r = cgroup_.Add(init_pid_); !r) {
    ::kill(init_pid_, SIGKILL);
    ::waitpid(init_pid_, nullptr, 0);
    cgroup_.Remove();
    return FailToStart("sandbox: " + r.error().message + ": " + r.error().details);
  }
  (void)!::write(sync_pipe[1], "x", 1);
  ::close(sync_pipe[1]);

  StreamState out(core::LogStream::kStdout, secret_values_);
  StreamState err(core::LogStream::kStderr, secret_values_);
  StreamState progress(core::LogStream::kRunvoy, secret_values_);
  out.fd = out_pipe[0];
  err.fd = err_pipe[0];
  progress.fd = runvoy_pipe[0];
  status_fd_ = status_pipe[0];
  auto watch = [&](int fd, uint64_t tag) {
    struct epoll_event ev;
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  };
  enum : uint64_t { kOut, kErr, kProgress, kStatus, kSignal, kGrace, kTimeout, kTick };
  watch(out.fd, kOut);
  watch(err.fd, kErr);
  watch(progress.fd, kProgress);
  watch(status_fd_, kStatus);
  watch(signal_fd, kSignal);
  watch(grace_fd_, kGrace);
  watch(timeout_fd_, kTimeout);
  watch(tick_fd_, kTick);
  if (spec_.task.timeout.count() > 0) {
    ArmTimer(timeout_fd_,
             std::chrono::duration_cast<std::chrono::milliseconds>(spec_.task.timeout).count());
  }
  ArmTimer(tick_fd_, 200, 200);

  while (!init_done_ || out.fd >= 0 || err.fd >= 0 || progress.fd >= 0 || status_fd_ >= 0) {
    struct epoll_event events[8];
    const int n = ::epoll_wait(epoll_fd_, events, 8, -1);
    if (n < 0 && errno != EINTR)
      break;
    for (int i = 0; i < n; ++i) {
      uint64_t expirations;
      switch (events[i].data.u64) {
        case kOut:
          if (out.fd >= 0)
            ReadStream(out);
          break;
        case kErr:
          if (err.fd >= 0)
            ReadStream(err);
          break;
        case kProgress:
          if (progress.fd >= 0)
            ReadStream(progress);
          break;
        case kStatus:
          if (status_fd_ >= 0)
            ReadStatus();
          break;
        case kSignal: HandleSignals(signal_fd); break;
        case kGrace:
          (void)!::read(grace_fd_, &expirations, sizeof expirations);
          if (!init_done_)
            ::kill(init_pid_, SIGKILL);
          break;
        case kTimeout:
          (void)!::read(timeout_fd_, &expirations, sizeof expirations);
          RequestKill(TaskExit::Cause::kTimedOut);
          break;
        case kTick:
          (void)!::read(tick_fd_, &expirations, sizeof expirations);
          // A task that hits its pids limit (a fork bomb) is ended like one hitting its memory.
          if (!init_done_ && !kill_cause_ && cgroup_.PidsLimitHits() > 0) {
            RequestKill(TaskExit::Cause::kSignaled);
          }
          // Once init is gone every process of the namespace is gone and the pipes end; this
          // only guards against the impossible.
          if (init_done_ && ++drain_ticks_ > 25) {
            for (StreamState* s : {&out, &err, &progress}) {
              if (s->fd >= 0) {
                ::close(s->fd);
                s->fd = -1;
              }
            }
            if (status_fd_ >= 0) {
              ::close(status_fd_);
              status_fd_ = -1;
            }
          }
          break;
        default: break;
      }
    }
    Flush();
  }

  const int64_t oom_kills = cgroup_.OomKills();
  // Hitting the pids limit counts as being killed by it, even if the command then gave up.
  if (!kill_cause_ && cgroup_.PidsLimitHits() > 0)
    kill_cause_ = TaskExit::Cause::kSignaled;
  cgroup_.KillAll();
  cgroup_.Remove();

  TaskExit exit;
  if (!started_) {
    if (kill_cause_ == TaskExit::Cause::kKilledByUser ||
        kill_cause_ == TaskExit::Cause::kTimedOut) {
      exit.cause = *kill_cause_;
      return Finish(exit);
    }
    std::string reason = setup_error_.empty() ? "the sandbox could not start" : setup_error_;
    EmitRunvoyLine("sandbox: " + reason);
    exit.cause = TaskExit::Cause::kFailedToStart;
    exit.exit_code = 1;
    exit.reason = "sandbox: " + reason;
    return Finish(exit);
  }
  if (kill_cause_ == TaskExit::Cause::kKilledByUser || kill_cause_ == TaskExit::Cause::kTimedOut) {
    exit.cause = *kill_cause_;
    if (command_status_ && WIFSIGNALED(*command_status_))
      exit.signal = WTERMSIG(*command_status_);
    return Finish(exit);
  }
  if (kill_cause_ == TaskExit::Cause::kSignaled) {
    exit.cause = TaskExit::Cause::kSignaled;
    exit.signal = SIGKILL;
    exit.reason = "pids limit of " + std::to_string(spec_.pids_limit) + " reached";
    EmitRunvoyLine("runvoy: the task was killed: " + exit.reason);
    return Finish(exit);
  }
  if (oom_kills > 0) {
    exit.cause = TaskExit::Cause::kSignaled;
    exit.signal = SIGKILL;
    exit.reason = "memory limit of " + std::to_string(spec_.task.image.memory_mb) + " MB reached";
    EmitRunvoyLine("runvoy: the task was killed: " + exit.reason);
    return Finish(exit);
  }
  if (command_status_) {
    if (WIFEXITED(*command_status_)) {
      exit.cause = TaskExit::Cause::kExited;
      exit.exit_code = WEXITSTATUS(*command_status_);
    } else {
      exit.cause = TaskExit::Cause::kSignaled;
      exit.signal = WIFSIGNALED(*command_status_) ? WTERMSIG(*command_status_) : SIGKILL;
    }
    return Finish(exit);
  }
  // init itself died (killed from outside) before it could report the command's status.
  exit.cause = TaskExit::Cause::kSignaled;
  exit.signal = WIFSIGNALED(init_status_) ? WTERMSIG(init_status_) : SIGKILL;
  return Finish(exit);
}

}  // namespace

std::string EncodeSupervisorSpec(const SupervisorSpec& spec) {
  const auto& t = spec.task;
  json::object o;
  o["execution_id"] = t.execution_id;
  o["request_id"] = t.request_id;
  o["user"] = t.user;
  o["command"] = t.command;
  json::object image;
  image["image_id"] = t.image.image_id;
  image["reference"] = t.image.reference;
  image["normalized"] = t.image.normalized;
  image["cpu"] = t.image.cpu;
  image["memory_mb"] = t.image.memory_mb;
  image["runtime_platform"] = t.image.runtime_platform;
  o["image"] = std::move(image);
  json::object env;
  for (const auto& [k, v] : t.env)
    env[k] = v;
  o["env"] = std::move(env);
  json::array secrets;
  for (const auto& s : t.secrets) {
    secrets.push_back(json::object{{"name", s.name}, {"key_name", s.key_name}, {"value", s.value}});
  }
  o["secrets"] = std::move(secrets);
  o["git"] = json::object{{"repo", t.git.repo}, {"ref", t.git.ref}, {"path", t.git.path}};
  o["timeout_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(t.timeout).count();
  o["kill_grace_ms"] = t.kill_grace.count();
  o["output_cap_bytes"] = t.output_cap_bytes;
  json::array banner;
  for (const auto& line : t.banner)
    banner.push_back(json::string(line));
  o["banner"] = std::move(banner);
  o["data_dir"] = spec.data_dir;
  o["network"] = spec.network;
  o["run_user"] = spec.user;
  o["pids_limit"] = spec.pids_limit;
  o["workspace_bytes"] = static_cast<int64_t>(spec.workspace_bytes);
  o["image_cache_bytes"] = spec.image_cache_bytes;
  return json::serialize(o);
}

core::Result<SupervisorSpec> DecodeSupervisorSpec(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object())
    return core::Fail(core::ErrorCode::kInvalidRequest, "bad task spec");
  const json::object& o = v.as_object();
  SupervisorSpec spec;
  auto& t = spec.task;
  t.execution_id = common::StringField(o, "execution_id");
  t.request_id = common::StringField(o, "request_id");
  t.user = common::StringField(o, "user");
  t.command = common::StringField(o, "command");
  if (const auto* image = o.if_contains("image"); image && image->is_object()) {
    const auto& i = image->as_object();
    t.image.image_id = common::StringField(i, "image_id");
    t.image.reference = common::StringField(i, "reference");
    t.image.normalized = common::StringField(i, "normalized");
    t.image.cpu = static_cast<int>(common::IntField(i, "cpu", 256));
    t.image.memory_mb = static_cast<int>(common::IntField(i, "memory_mb", 512));
    t.image.runtime_platform = common::StringField(i, "runtime_platform");
  }
  if (const auto* env = o.if_contains("env"); env && env->is_object()) {
    for (const auto& [k, val] : env->as_object()) {
      if (val.is_string())
        t.env[std::string(k)] = std::string(val.as_string());
    }
  }
  if (const auto* secrets = o.if_contains("secrets"); secrets && secrets->is_array()) {
    for (const auto& s : secrets->as_array()) {
      if (!s.is_object())
        continue;
      t.secrets.push_back(contract::SecretEnv{common::StringField(s.as_object(), "name"),
                                              common::StringField(s.as_object(), "key_name"),
                                              common::StringField(s.as_object(), "value")});
    }
  }
  if (const auto* git = o.if_contains("git"); git && git->is_object()) {
    t.git.repo = common::StringField(git->as_object(), "repo");
    t.git.ref = common::StringField(git->as_object(), "ref");
    t.git.path = common::StringField(git->as_object(), "path");
  }
  t.timeout = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::milliseconds(common::IntField(o, "timeout_ms", 3600000)));
  t.kill_grace = std::chrono::milliseconds(common::IntField(o, "kill_grace_ms", 10000));
  t.output_cap_bytes = common::IntField(o, "output_cap_bytes", t.output_cap_bytes);
  if (const auto* banner = o.if_contains("banner"); banner && banner->is_array()) {
    for (const auto& line : banner->as_array()) {
      if (line.is_string())
        t.banner.emplace_back(line.as_string());
    }
  }
  spec.data_dir = common::StringField(o, "data_dir");
  spec.network = common::StringField(o, "network");
  spec.user = common::StringField(o, "run_user");
  spec.pids_limit = static_cast<int>(common::IntField(o, "pids_limit", 512));
  const int64_t workspace_bytes = common::IntField(o, "workspace_bytes", 0);
  if (workspace_bytes > 0)
    spec.workspace_bytes = static_cast<uint64_t>(workspace_bytes);
  spec.image_cache_bytes = common::IntField(o, "image_cache_bytes", spec.image_cache_bytes);
  if (t.execution_id.empty() || t.command.empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "task spec without execution or command");
  }
  return spec;
}

std::vector<std::string> BuildEnvironment(const contract::TaskSpec& task,
                                          const std::vector<std::string>& image_env) {
  std::map<std::string, std::string> env;
  env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  env["HOME"] = "/workspace";
  for (const auto& entry : image_env) {
    const size_t eq = entry.find('=');
    if (eq != std::string::npos && eq > 0)
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  env["RUNVOY_COMMAND"] = task.command;
  env["RUNVOY_EXECUTION_ID"] = task.execution_id;
  for (const auto& s : task.secrets)
    env[s.key_name] = s.value;
  for (const auto& [k, v] : task.env)
    env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env)
    out.push_back(k + "=" + v);
  return out;
}

int SupervisorMain(int argc, char** argv) {
  // `runvoy __supervise <dir> [<lock_fd>]`
  int first = 1;
  if (argc > 1 && std::string_view(argv[1]) == kSuperviseCommand)
    first = 2;
  if (argc <= first) {
    std::fprintf(stderr, "usage: runvoy %s <execution_dir> [<lock_fd>]\n", kSuperviseCommand);
    return 2;
  }
  const std::string dir = argv[first];
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGCHLD, SIGHUP})
    sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const int signal_fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0) {
    std::perror("supervisor: signalfd");
    return 1;
  }

  int lock_fd = -1;
  if (argc > first + 1)
    lock_fd = std::atoi(argv[first + 1]);
  if (lock_fd <= 2) {
    lock_fd = ::open((dir + "/" + kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  } else {
    ::fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
  }
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::perror("supervisor: lock");
    return 1;
  }
  std::string input;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    input.append(buf, static_cast<size_t>(n));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::close(null_fd);
  }
  // After the spec (the provider writes the pid file before it sends the spec).
  (void)common::WriteFileAtomically(dir + "/" + kPidFile, std::to_string(::getpid()), false);
  auto spec = DecodeSupervisorSpec(input);
  std::fill(input.begin(), input.end(), '\0');
  if (!spec) {
    std::fprintf(stderr, "supervisor: %s\n", spec.error().message.c_str());
    // Without a spec there is nothing to run; still leave an exit record for the server.
    TaskExit exit;
    exit.cause = TaskExit::Cause::kFailedToStart;
    exit.exit_code = 1;
    exit.reason = "the supervisor received no valid task spec";
    exit.at = core::WallClock().Now();
    (void)common::WriteFileAtomically(dir + "/" + kExitFile, EncodeExit(exit));
    return 1;
  }
  Supervisor supervisor(dir, std::move(*spec));
  return supervisor.Run(signal_fd);
}

}  // namespace runvoy::providers::local
