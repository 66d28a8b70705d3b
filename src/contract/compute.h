#pragma once

// The compute contract: runs an execution's command as an isolated task on a platform
// (providers/local, providers/docker, ...). The provider never touches the store: a task's
// progress reaches the core as events on the EventSink.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/records.h"
#include "core/time.h"

namespace runvoy::contract {

using core::Result;

struct ImageSpec {
  std::string image_id;
  std::string reference;   // as registered, e.g. "host" or "localhost:5000/busybox:1"
  std::string normalized;  // see core/image_reference.h
  int cpu = 256;           // 1024 = one core
  int memory_mb = 512;
  std::string runtime_platform;
};

struct GitSource {
  std::string repo;  // empty = no clone
  std::string ref;   // branch, tag or commit; empty = the remote's default branch
  std::string path;  // working directory inside the repo, no ".."
};

struct SecretEnv {
  std::string name;
  std::string key_name;
  std::string value;  // in memory only; the provider must never write it anywhere in clear
};

struct TaskSpec {
  std::string execution_id;
  std::string request_id;
  std::string user;
  std::string command;  // run by /bin/sh -c
  ImageSpec image;
  std::map<std::string, std::string> env;  // request env; wins over secrets of the same key
  std::vector<SecretEnv> secrets;
  GitSource git;
  std::chrono::seconds timeout{3600};
  std::chrono::milliseconds kill_grace{10000};
  int64_t output_cap_bytes = int64_t{100} * 1024 * 1024;
  // Lines to emit on stream "runvoy" before anything else (SPEC.md §2.8 banner).
  std::vector<std::string> banner;
};

// Why a task was killed, which decides its final status.
enum class KillReason { kUser, kTimeout, kReconcile };

// How a task ended, as the provider saw it. core::DecideOutcome maps it to status and code.
struct TaskExit {
  enum class Cause {
    kExited,         // the command exited with exit_code
    kSignaled,       // killed by a signal nobody asked for (OOM, pids limit): signal
    kKilledByUser,   // Kill(kUser) or Kill(kReconcile)
    kTimedOut,       // the timeout expired
    kFailedToStart,  // image, clone or sandbox failure; reason says why
  };
  Cause cause = Cause::kExited;
  int exit_code = 0;
  int signal = 0;
  std::string reason;
  core::TimePoint at;
};

// A task the provider knows of, for reconcile and recovery.
struct TaskState {
  std::string execution_id;
  std::string task_ref;
  bool running = false;
};

struct Capabilities {
  // Tasks keep running and keep their output while the server is down.
  bool survives_server_restart = false;
};

// Receives a task's progress. Called from provider threads; implementations are thread-safe and
// return quickly. Events of one execution arrive in order: OnStarted, OnOutput*, OnExited.
// After Attach() a provider may re-deliver events already delivered before a restart; sequences
// tell them apart.
//
// Each method returns true once the event is durably recorded. False means the core could not
// record it now (e.g. the database is down): the provider keeps the event (and everything after
// it) and delivers it again later, in order; it must not discard a task's output or exit record
// before OnExited returned true.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual bool OnStarted(const std::string& execution_id, core::TimePoint at) = 0;
  // Sequences are consecutive per execution, starting at 1, across OnOutput calls.
  virtual bool OnOutput(const std::string& execution_id,
                        const std::vector<core::LogEvent>& events) = 0;
  virtual bool OnExited(const std::string& execution_id, const TaskExit& exit) = 0;
};

// Runs tasks on a platform. Start/Kill/List return quickly; progress arrives on the sink given
// to SetEventSink. Thread-safe; never throws. kServiceUnavailable when the platform cannot be
// reached.
class ComputeProvider {
 public:
  virtual ~ComputeProvider() = default;
  virtual std::string Name() const = 0;
  virtual Capabilities Describe() const = 0;
  // Called once before any other call; the sink outlives the provider's use of it.
  virtual void SetEventSink(EventSink& sink) = 0;
  // Starts the task and returns the provider's handle for it. The task may still fail later
  // (OnExited with kFailedToStart), e.g. while its image is fetched.
  virtual Result<std::string> Start(const TaskSpec& spec) = 0;
  // Resumes delivering the events of a task started before a restart, from the event after
  // `after_sequence`. A task that ended meanwhile delivers its remaining output and exit.
  // kNotFound when the provider has no trace of it.
  virtual Result<void> Attach(const std::string& execution_id, const std::string& task_ref,
                              int64_t after_sequence) = 0;
  // Idempotent: killing a finished or unknown task is not an error.
  virtual Result<void> Kill(const std::string& execution_id, KillReason reason) = 0;
  virtual Result<std::vector<TaskState>> List() = 0;
  // Whether `image` can be used on this platform; kInvalidRequest with the reason if not.
  virtual Result<void> CheckImage(const ImageSpec& image) = 0;
  // Stores the image of the `docker save` or OCI layout tarball at `tarball_path` under
  // `image.reference`, so that runs of it need no registry. kInvalidRequest when the file is
  // no such image, or when the provider does not import images (the default).
  virtual Result<void> ImportImage(const ImageSpec& image, const std::string& tarball_path) {
    (void)image;
    (void)tarball_path;
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "this compute provider does not import images");
  }
};

}  // namespace runvoy::contract
