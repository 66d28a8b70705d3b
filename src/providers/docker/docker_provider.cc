#include "providers/docker/docker_provider.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/json_fields.h"
#include "core/image_reference.h"
#include "core/time.h"
#include "providers/docker/docker_client.h"
#include "providers/docker/docker_output.h"
#include "providers/docker/docker_workspace.h"
#include "providers/git/git_workspace.h"

namespace runvoy::providers::docker {
namespace {

namespace json = boost::json;
using contract::Capabilities;
using contract::EventSink;
using contract::KillReason;
using contract::TaskExit;
using contract::TaskSpec;
using contract::TaskState;
using core::ErrorCode;
using core::Fail;
using core::Result;
using namespace std::chrono_literals;

constexpr char kLabelManaged[] = "io.runvoy.managed";
constexpr char kLabelExecution[] = "io.runvoy.execution_id";
constexpr char kLabelNode[] = "io.runvoy.node";
constexpr char kLabelRequest[] = "io.runvoy.request_id";
constexpr char kLabelUser[] = "io.runvoy.user";
constexpr char kLabelPrefix[] = "io.runvoy.prefix_lines";
constexpr char kLabelDeadline[] = "io.runvoy.deadline_ms";
constexpr char kLabelGrace[] = "io.runvoy.kill_grace_ms";
constexpr char kLabelCap[] = "io.runvoy.output_cap_bytes";
constexpr char kLabelScrub[] = "io.runvoy.scrub_env";
constexpr size_t kMaxBatch = 8192;
// Bytes of live output the attach stream may hold for the task thread; past that the stream is
// dropped and the output is read from the container's log instead.
constexpr size_t kMaxAttachBuffer = 64 * 1024 * 1024;

int64_t NowMs() {
  return core::ToUnixMillis(
      std::chrono::time_point_cast<std::chrono::milliseconds>(core::SystemClock::now()));
}

bool ValidExecutionId(const std::string& id) {
  if (id.empty() || id.size() > 128)
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string ContainerName(const std::string& execution_id) {
  return "runvoy-" + execution_id;
}

const json::object* GetObject(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

int64_t ParseInt(const std::string& text, int64_t fallback) {
  if (text.empty())
    return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  return *end == '\0' ? value : fallback;
}

std::optional<json::object> ParseObject(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return std::move(v.as_object());
}

// "0001-01-01T00:00:00Z" is the Engine's "never".
std::optional<int64_t> EngineTime(const std::string& text) {
  if (text.empty() || text.rfind("0001-", 0) == 0)
    return std::nullopt;
  auto t = core::ParseRfc3339(text);
  if (!t)
    return std::nullopt;
  return core::ToUnixMillis(*t);
}

// The values scrubbed from an execution's output: its secrets and a git token in its env.
std::vector<std::string> ScrubEnvNames(const TaskSpec& spec) {
  std::set<std::string> names;
  for (const auto& s : spec.secrets)
    names.insert(s.key_name);
  for (const char* key : {"GITHUB_TOKEN", "GIT_TOKEN"}) {
    if (spec.env.count(key) != 0)
      names.insert(key);
  }
  return {names.begin(), names.end()};
}

struct Options {
  DockerEndpoint endpoint;
  std::string journal_dir;  // where the task threads note each event's stream; empty = nowhere
  std::string network = "none";
  int pids_limit = 512;
  bool init = true;
  std::string node_id;
};

// One execution the provider follows. The task thread owns everything but the fields under
// `mu`, which Kill() also touches.
struct Task {
  std::string execution_id;
  std::string container_id;  // once created (or found on Attach)
  // Start() only: the spec (secret values in memory only) and its prefix lines.
  std::optional<TaskSpec> spec;
  std::vector<std::string> prefix;  // runvoy lines before the container's own output
  std::vector<std::string> secrets;
  int64_t deadline_ms = 0;  // 0 = none
  int64_t grace_ms = 10000;
  int64_t cap = int64_t{100} * 1024 * 1024;
  int64_t after_sequence = 0;  // delivered before (Attach); skipped on re-reading
  bool attached = false;

  std::mutex mu;  // guards the fields below
  std::optional<TaskExit::Cause> kill_cause;
  bool container_started = false;
  int64_t sigkill_at_ms = 0;  // grace expiry after a SIGTERM
  bool sigkill_sent = false;

  std::atomic<bool> done{false};
  std::thread thread;
};

// The index of a stream in the per-stream counts: runvoy, stdout, stderr.
size_t StreamIndex(core::LogStream stream) {
  switch (stream) {
    case core::LogStream::kStdout:
      return 1;
    case core::LogStream::kStderr:
      return 2;
    default:
      return 0;
  }
}

// The live output of a container, attached (POST /containers/{id}/attach?stream=1) before it
// starts, read by a thread of its own so that the task thread can start the container and
// deliver lines meanwhile. The bytes are the multiplexed stream, as the logs endpoint gives
// them but without timestamps.
class AttachStream {
 public:
  AttachStream(const DockerEndpoint& endpoint, const std::string& container_id,
               const std::atomic<bool>& stop)
      : stop_(stop) {
    thread_ = std::thread([this, endpoint, container_id] {
      DockerClient client(endpoint);
      (void)client.Stream(
          "POST", "/containers/" + container_id + "/attach?stream=1&stdout=1&stderr=1", {},
          [this](std::string_view chunk) {
            std::lock_guard lock(mu_);
            if (buffer_.size() + chunk.size() > kMaxAttachBuffer)
              return false;  // the task thread is far behind: it reads the log instead
            buffer_.append(chunk.data(), chunk.size());
            cv_.notify_all();
            return true;
          },
          [this] { return !abort_.load() && !stop_.load(); },
          [this](long status) {
            std::lock_guard lock(mu_);
            attached_ = status == 200;
            answered_ = true;
            cv_.notify_all();
          });
      // Ended: the container's output is over, or the stream broke or was dropped; the task
      // thread reads the stored log either way.
      std::lock_guard lock(mu_);
      answered_ = true;
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~AttachStream() {
    abort_.store(true);
    thread_.join();
  }
  AttachStream(const AttachStream&) = delete;
  AttachStream& operator=(const AttachStream&) = delete;

  // Waits until the daemon has attached the stream (true) or refused or failed (false).
  bool WaitAttached(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return answered_; });
    return attached_ && !ended_;
  }

  // Waits up to `timeout` for bytes and appends them to `out`. False once the stream has
  // ended and every byte was taken.
  bool Take(std::string& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !buffer_.empty() || ended_; });
    out.append(buffer_);
    buffer_.clear();
    return !ended_ || !out.empty();
  }

 private:
  const std::atomic<bool>& stop_;
  std::atomic<bool> abort_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;
  bool answered_ = false;
  bool attached_ = false;
  bool ended_ = false;
  std::thread thread_;
};

class DockerProvider final : public contract::ComputeProvider {
 public:
  explicit DockerProvider(Options options) : options_(std::move(options)) {}
  ~DockerProvider() override;

  std::string Name() const override { return "docker"; }
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

  Result<void> Ping();

 private:
  class Runner;
  void Launch(std::shared_ptr<Task> task);
  void Reap();
  // A control call from any thread (kill, list): one client per call keeps them apart.
  Result<DockerResponse> Control(std::string_view method, const std::string& path,
                                 std::string_view body = {}) {
    DockerClient client(options_.endpoint);
    return client.Call(method, path, body, 30s);
  }
  std::shared_ptr<std::mutex> PullLock(const std::string& reference) {
    std::lock_guard lock(mu_);
    auto& m = pull_locks_[reference];
    if (!m)
      m = std::make_shared<std::mutex>();
    return m;
  }

  Options options_;
  std::atomic<EventSink*> sink_{nullptr};
  std::atomic<bool> stop_{false};
  std::mutex mu_;  // guards tasks_ and pull_locks_
  std::map<std::string, std::shared_ptr<Task>> tasks_;
  std::map<std::string, std::shared_ptr<std::mutex>> pull_locks_;
  std::vector<std::shared_ptr<Task>> finished_;  // threads to join
};

// Runs one task on its own thread: image, container, log, exit, removal.
class DockerProvider::Runner {
 public:
  Runner(DockerProvider& provider, Task& task)
      : provider_(provider), task_(task), client_(provider.options_.endpoint) {}
  ~Runner() {
    if (journal_fd_ >= 0)
      ::close(journal_fd_);
  }
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void Run();

 private:
  bool Stopping() const { return provider_.stop_.load(); }
  bool Cancelled() {
    std::lock_guard lock(task_.mu);
    return task_.kill_cause.has_value() && !task_.container_started;
  }
  // Housekeeping while waiting: timeout, grace, delivery of refused events. False to stop.
  bool Tick();
  bool Deliver();
  // Waits up to `d`, ticking; false when the provider stops.
  bool Pause(std::chrono::milliseconds d);
  void QueueRunvoyLine(const std::string& line);
  // Takes the events of a pass over the output (`seen_` counts them per stream): those of each
  // stream beyond the ones kept before get the next sequences and go to the queue.
  void Keep(std::vector<core::LogEvent>& events);
  // The stream of every event kept, one letter each (r, o, e), in a file of the provider's, so
  // that a later server can tell which events of the container's log it delivered (the live
  // stream and the log may order stdout and stderr apart differently).
  void OpenJournal();
  void FlushJournal();
  void RemoveJournal();
  // Pulls the image unless the daemon has it. The reason it cannot be had, or nullopt.
  std::optional<std::string> EnsureImage();
  // Clones spec.git into a temporary directory of the host. Its path, or the failure reason.
  Result<std::string> CloneRepository();
  // Copies <clone>/repo into the created container's /workspace, owned by the container's user.
  Result<void> CopyWorkspace(const std::string& clone_dir);
  // Ends a task that did not get to start: killed (the kill's cause) or failed with `reason`.
  void EndBeforeStart(const std::string& reason, bool remove);
  Result<std::string> CreateContainer();
  // Attaches to the created container, starts it and delivers its live output until the
  // stream ends. False when the container could not be started (the task is finished).
  bool StartAttached();
  // Reads the log from the start into `pipeline`, skipping the first `frames` frames (fed
  // before) and counting what it reads in `frames`; with `follow`, until the container stops.
  // False when the stream broke (daemon gone) or the provider stops.
  bool ReadLog(OutputPipeline& pipeline, bool follow, int64_t& frames);
  void Finish(TaskExit exit, bool remove);
  TaskExit ExitFromInspect(const json::object& inspect, OutputPipeline& pipeline);

  DockerProvider& provider_;
  Task& task_;
  DockerClient client_;
  std::vector<core::LogEvent> queue_;  // produced, not yet accepted by the sink
  int64_t produced_ = 0;               // highest sequence produced
  std::array<int64_t, 3> kept_{};      // events produced per stream (StreamIndex)
  std::array<int64_t, 3> seen_{};      // events of the current pass per stream
  int64_t floor_ = 0;  // without a journal: the sequences of a pass delivered before re-attach
  int journal_fd_ = -1;
  std::string journal_pending_;
  bool started_delivered_ = false;
  std::optional<int64_t> started_ms_;
};

bool DockerProvider::Runner::Deliver() {
  FlushJournal();
  EventSink* sink = provider_.sink_.load();
  if (started_ms_ && !started_delivered_) {
    if (!sink->OnStarted(task_.execution_id, core::FromUnixMillis(*started_ms_)))
      return false;
    started_delivered_ = true;
  }
  if (!started_delivered_)
    return true;  // the prefix waits for OnStarted (or for the exit)
  while (!queue_.empty()) {
    const size_t n = std::min(queue_.size(), kMaxBatch);
    std::vector<core::LogEvent> batch(queue_.begin(), queue_.begin() + static_cast<long>(n));
    if (!sink->OnOutput(task_.execution_id, batch))
      return false;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
  }
  return true;
}

bool DockerProvider::Runner::Tick() {
  if (Stopping())
    return false;
  const int64_t now = NowMs();
  bool timed_out = false;
  bool sigkill = false;
  {
    std::lock_guard lock(task_.mu);
    if (task_.deadline_ms > 0 && now >= task_.deadline_ms && !task_.kill_cause) {
      task_.kill_cause = TaskExit::Cause::kTimedOut;
      timed_out = true;
      task_.sigkill_at_ms = now + task_.grace_ms;
    }
    if (task_.container_started && task_.sigkill_at_ms > 0 && now >= task_.sigkill_at_ms &&
        !task_.sigkill_sent) {
      task_.sigkill_sent = true;
      sigkill = true;
    }
  }
  if (timed_out && !sigkill)
    provider_.Kill(task_.execution_id, KillReason::kTimeout);  // sends SIGTERM
  if (sigkill) {
    // The log stream holds this thread's client; the control call uses its own.
    (void)provider_.Control("POST", "/containers/" + task_.container_id + "/kill?signal=SIGKILL");
  }
  (void)Deliver();
  return true;
}

bool DockerProvider::Runner::Pause(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (!Tick())
      return false;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        50ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                  end - std::chrono::steady_clock::now())));
  }
  return Tick();
}

void DockerProvider::Runner::QueueRunvoyLine(const std::string& line) {
  OutputPipeline pipeline(task_.secrets, task_.cap);
  std::vector<core::LogEvent> events;
  pipeline.AddRunvoyLine(line, NowMs(), events);
  for (auto& event : events) {
    event.sequence = ++produced_;
    ++kept_[0];
    journal_pending_ += 'r';
    task_.prefix.push_back(event.message);
    queue_.push_back(std::move(event));
  }
}

void DockerProvider::Runner::Keep(std::vector<core::LogEvent>& events) {
  for (auto& event : events) {
    const size_t i = StreamIndex(event.stream);
    if (++seen_[i] <= kept_[i])
      continue;  // delivered (or queued) before the output was read again
    kept_[i] = seen_[i];
    if (event.sequence <= floor_)
      continue;  // delivered by the server before this one (no journal: in the log's order)
    event.sequence = ++produced_;
    journal_pending_ += "roe"[i];
    queue_.push_back(std::move(event));
  }
  events.clear();
}

void DockerProvider::Runner::OpenJournal() {
  const std::string& dir = provider_.options_.journal_dir;
  if (dir.empty()) {
    floor_ = task_.attached ? task_.after_sequence : 0;
    return;
  }
  const std::string path = dir + "/" + task_.execution_id + ".streams";
  if (task_.attached) {
    // The letters of the events the store has, if the file has them all.
    std::ifstream in(path, std::ios::binary);
    std::string letters((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (static_cast<int64_t>(letters.size()) >= task_.after_sequence) {
      letters.resize(static_cast<size_t>(task_.after_sequence));
      for (char c : letters)
        ++kept_[c == 'o' ? 1 : c == 'e' ? 2 : 0];
      floor_ = 0;
    } else {
      letters.clear();
      kept_ = {};
      floor_ = task_.after_sequence;
    }
    journal_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    journal_pending_ = letters;
    if (floor_ > 0 && journal_fd_ >= 0) {
      // The letters of the delivered events are unknown: no later server may trust the file.
      ::close(journal_fd_);
      journal_fd_ = -1;
      ::unlink(path.c_str());
    }
    return;
  }
  ::mkdir(dir.c_str(), 0700);
  journal_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

void DockerProvider::Runner::FlushJournal() {
  if (journal_fd_ < 0) {
    journal_pending_.clear();
    return;
  }
  size_t done = 0;
  while (done < journal_pending_.size()) {
    const ssize_t n =
        ::write(journal_fd_, journal_pending_.data() + done, journal_pending_.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      // A journal with a gap would mislead a later server: none at all is safer.
      ::close(journal_fd_);
      journal_fd_ = -1;
      ::unlink((provider_.options_.journal_dir + "/" + task_.execution_id + ".streams").c_str());
      break;
    }
    done += static_cast<size_t>(n);
  }
  journal_pending_.clear();
}

void DockerProvider::Runner::RemoveJournal() {
  if (journal_fd_ >= 0)
    ::close(journal_fd_);
  journal_fd_ = -1;
  journal_pending_.clear();
  if (!provider_.options_.journal_dir.empty()) {
    ::unlink((provider_.options_.journal_dir + "/" + task_.execution_id + ".streams").c_str());
  }
}

// Pulls the image unless present. Returns the reason it cannot be had, or nullopt.
std::optional<std::string> DockerProvider::Runner::EnsureImage() {
  const std::string& reference = task_.spec->image.reference;
  auto parsed = core::ParseImageReference(reference);
  if (!parsed)
    return "invalid image reference \"" + reference + "\": " + parsed.error().message;
  const std::string inspect_path = "/images/" + reference + "/json";
  auto present = client_.Call("GET", inspect_path);
  if (!present)
    return present.error().message;
  if (present->status == 200)
    return std::nullopt;
  // One pull per image at a time; whoever waited finds the image there.
  auto lock_ptr = provider_.PullLock(parsed->normalized);
  std::unique_lock pull_lock(*lock_ptr, std::defer_lock);
  while (!pull_lock.try_lock()) {
    if (Cancelled() || !Pause(100ms))
      return std::string("cancelled");
  }
  present = client_.Call("GET", inspect_path);
  if (!present)
    return present.error().message;
  if (present->status == 200)
    return std::nullopt;
  QueueRunvoyLine("pulling image " + reference);
  (void)Deliver();
  const std::string from =
      parsed->registry.empty() ? parsed->name : parsed->registry + "/" + parsed->name;
  const std::string tag = parsed->digest.empty() ? parsed->tag : parsed->digest;
  std::string pull_error;
  std::string partial;
  auto result = client_.Stream(
      "POST", "/images/create?fromImage=" + UrlEncode(from) + "&tag=" + UrlEncode(tag), {},
      [&](std::string_view chunk) {
        // Progress is a stream of JSON objects, one per line; an error ends it.
        partial.append(chunk.data(), chunk.size());
        size_t nl;
        while ((nl = partial.find('\n')) != std::string::npos) {
          auto message = ParseObject(partial.substr(0, nl));
          partial.erase(0, nl + 1);
          if (message && pull_error.empty()) {
            const std::string error = common::StringField(*message, "error");
            if (!error.empty())
              pull_error = error;
          }
        }
        return true;
      },
      [&] { return !Cancelled() && Tick(); });
  if (Cancelled())
    return std::string("cancelled");
  if (!result)
    return "image " + reference + " could not be pulled: " + result.error().message;
  if (result->status / 100 != 2)
    return "image " + reference + " could not be pulled: " + ErrorMessage(*result);
  if (!pull_error.empty())
    return "image " + reference + " could not be pulled: " + pull_error;
  QueueRunvoyLine("pulled image " + reference);
  return std::nullopt;
}

Result<std::string> DockerProvider::Runner::CreateContainer() {
  const TaskSpec& spec = *task_.spec;
  json::object labels;
  labels[kLabelManaged] = "true";
  labels[kLabelExecution] = spec.execution_id;
  labels[kLabelNode] = provider_.options_.node_id;
  labels[kLabelRequest] = spec.request_id;
  labels[kLabelUser] = spec.user;
  json::array prefix;
  for (const auto& line : task_.prefix)
    prefix.push_back(json::string(line));
  labels[kLabelPrefix] = json::serialize(prefix);
  labels[kLabelDeadline] = std::to_string(task_.deadline_ms);
  labels[kLabelGrace] = std::to_string(task_.grace_ms);
  labels[kLabelCap] = std::to_string(task_.cap);
  std::string scrub;
  for (const auto& name : ScrubEnvNames(spec))
    scrub += (scrub.empty() ? "" : ",") + name;
  labels[kLabelScrub] = scrub;

  std::map<std::string, std::string> env;
  env["HOME"] = "/workspace";
  env["RUNVOY_COMMAND"] = spec.command;
  env["RUNVOY_EXECUTION_ID"] = spec.execution_id;
  for (const auto& s : spec.secrets)
    env[s.key_name] = s.value;
  for (const auto& [k, v] : spec.env)
    env[k] = v;
  json::array env_list;
  for (const auto& [k, v] : env)
    env_list.push_back(json::string(k + "=" + v));

  json::object host;
  host["NetworkMode"] = provider_.options_.network;
  const int64_t memory = int64_t{spec.image.memory_mb} * 1024 * 1024;
  host["Memory"] = memory;
  host["MemorySwap"] = memory;
  host["NanoCpus"] = int64_t{spec.image.cpu} * 1000000000 / 1024;
  host["PidsLimit"] = provider_.options_.pids_limit;
  // docker-init as PID 1: the command is an ordinary process (signals it sends itself work,
  // children are reaped) and its exit status, 128+signal included, becomes the container's.
  host["Init"] = provider_.options_.init;
  host["Mounts"] = json::array{json::object{{"Type", "volume"}, {"Target", "/workspace"}}};
  // The log is the durable copy of the output until the exit is recorded; bounded a little
  // above the output cap, which is all runvoy keeps.
  const int64_t log_file = std::max<int64_t>(task_.cap + 16 * 1024 * 1024, 1024 * 1024);
  host["LogConfig"] = json::object{
      {"Type", "json-file"},
      {"Config", json::object{{"max-size", std::to_string(log_file)}, {"max-file", "2"}}}};

  json::object body;
  body["Image"] = spec.image.reference;
  body["Cmd"] = json::array{"/bin/sh", "-c", json::string(spec.command)};
  body["Env"] = std::move(env_list);
  body["WorkingDir"] = git::GitWorkingDirectory(spec.git);
  body["Labels"] = std::move(labels);
  body["AttachStdout"] = false;
  body["AttachStderr"] = false;
  body["Tty"] = false;
  body["OpenStdin"] = false;
  body["HostConfig"] = std::move(host);
  std::string payload = json::serialize(body);
  auto created =
      client_.Call("POST", "/containers/create?name=" + ContainerName(spec.execution_id), payload);
  std::fill(payload.begin(), payload.end(), '\0');
  if (!created)
    return tl::unexpected(created.error());
  if (created->status != 201)
    return Fail(ErrorCode::kInvalidRequest, "docker: " + ErrorMessage(*created));
  auto answer = ParseObject(created->body);
  const std::string id = answer ? common::StringField(*answer, "Id") : std::string();
  if (id.empty())
    return Fail(ErrorCode::kInternal, "docker: create answered without an ID");
  return id;
}

bool DockerProvider::Runner::ReadLog(OutputPipeline& pipeline, bool follow, int64_t& frames) {
  FrameDecoder decoder;
  std::vector<core::LogEvent> events;
  const int64_t skip = frames;
  int64_t seen = 0;
  const std::string path = "/containers/" + task_.container_id +
                           "/logs?stdout=1&stderr=1&timestamps=1" + (follow ? "&follow=1" : "");
  auto result = client_.Stream(
      "GET", path, {},
      [&](std::string_view chunk) {
        events.clear();
        decoder.Feed(chunk, [&](int stream, std::string_view payload) {
          if (++seen <= skip)
            return;
          pipeline.AddFrame(stream, payload, NowMs(), events);
        });
        Keep(events);
        (void)Deliver();
        return !Stopping();
      },
      [&] { return Tick(); });
  frames = std::max(frames, seen);
  return result && result->status == 200;
}

TaskExit DockerProvider::Runner::ExitFromInspect(const json::object& inspect,
                                                 OutputPipeline& pipeline) {
  TaskExit exit;
  const json::object* state = GetObject(inspect, "State");
  int exit_code = 0;
  bool oom = false;
  std::optional<int64_t> finished;
  std::string error;
  if (state != nullptr) {
    if (const auto* v = state->if_contains("ExitCode"); v && v->is_int64())
      exit_code = static_cast<int>(v->as_int64());
    if (const auto* v = state->if_contains("OOMKilled"); v && v->is_bool())
      oom = v->as_bool();
    finished = EngineTime(common::StringField(*state, "FinishedAt"));
    error = common::StringField(*state, "Error");
  }
  exit.at = core::FromUnixMillis(finished.value_or(NowMs()));
  std::optional<TaskExit::Cause> kill_cause;
  {
    std::lock_guard lock(task_.mu);
    kill_cause = task_.kill_cause;
  }
  // A task past its deadline when the server was down is a timeout too.
  if (!kill_cause && task_.deadline_ms > 0 && finished && *finished >= task_.deadline_ms)
    kill_cause = TaskExit::Cause::kTimedOut;
  std::vector<core::LogEvent> events;
  if (kill_cause) {
    exit.cause = *kill_cause;
    if (exit_code > 128)
      exit.signal = exit_code - 128;
  } else if (oom) {
    exit.cause = TaskExit::Cause::kSignaled;
    exit.signal = SIGKILL;
    exit.reason = "memory limit reached";
    pipeline.AddRunvoyLine("runvoy: the task was killed: " + exit.reason,
                           core::ToUnixMillis(exit.at), events);
  } else {
    exit.cause = TaskExit::Cause::kExited;
    exit.exit_code = exit_code;
  }
  Keep(events);
  return exit;
}

void DockerProvider::Runner::Finish(TaskExit exit, bool remove) {
  if (exit.cause == TaskExit::Cause::kFailedToStart && !exit.reason.empty() &&
      exit.reason != "cancelled") {
    QueueRunvoyLine(exit.reason);
  }
  if (exit.reason == "cancelled")
    exit.reason.clear();
  if (exit.at.time_since_epoch().count() == 0)
    exit.at = core::FromUnixMillis(NowMs());
  EventSink* sink = provider_.sink_.load();
  // Events of a task that never started still go out, without OnStarted.
  for (;;) {
    if (started_delivered_ || started_ms_) {
      if (Deliver())
        break;
    } else {
      started_delivered_ = true;
      if (Deliver())
        break;
      started_delivered_ = false;
    }
    if (!Pause(200ms))
      return;
  }
  while (!sink->OnExited(task_.execution_id, exit)) {
    if (!Pause(200ms))
      return;
  }
  RemoveJournal();
  if (remove && !task_.container_id.empty()) {
    (void)client_.Call("DELETE", "/containers/" + task_.container_id + "?force=1&v=1", {}, 60s);
  }
}

void DockerProvider::Runner::EndBeforeStart(const std::string& reason, bool remove) {
  TaskExit exit;
  std::optional<TaskExit::Cause> cause;
  {
    std::lock_guard lock(task_.mu);
    cause = task_.kill_cause;
  }
  exit.cause = cause.value_or(TaskExit::Cause::kFailedToStart);
  exit.exit_code = cause ? 0 : 1;
  exit.reason = cause ? std::string() : reason;
  Finish(exit, remove);
}

Result<std::string> DockerProvider::Runner::CloneRepository() {
  const TaskSpec& spec = *task_.spec;
  std::error_code ec;
  std::string dir = (std::filesystem::temp_directory_path(ec) / "runvoy-git-XXXXXX").string();
  if (ec || ::mkdtemp(dir.data()) == nullptr) {
    return Fail(ErrorCode::kInternal, std::string("git: cannot create a temporary directory: ") +
                                          std::strerror(errno));
  }
  git::GitCloneOptions options;
  options.source = spec.git;
  options.token = git::FindGitToken(spec);
  options.scrub = task_.secrets;
  options.chown = false;  // the copy into the container names the owner
  options.home_parent = dir;
  options.on_progress = [this](const std::string& line) {
    QueueRunvoyLine(line);
    (void)Deliver();
  };
  options.keep_going = [this] { return !Cancelled() && Tick(); };
  if (::mkdir((dir + "/workspace").c_str(), 0700) != 0) {
    std::filesystem::remove_all(dir, ec);
    return Fail(ErrorCode::kInternal,
                std::string("git: cannot create the workspace: ") + std::strerror(errno));
  }
  auto cloned = git::CloneIntoWorkspace(options, dir + "/workspace");
  if (!cloned) {
    std::filesystem::remove_all(dir, ec);
    return tl::unexpected(cloned.error());
  }
  return dir;
}

Result<void> DockerProvider::Runner::CopyWorkspace(const std::string& clone_dir) {
  // The owner: the container's user (the image's, as created), resolved in its own passwd.
  auto inspect = client_.Call("GET", "/containers/" + task_.container_id + "/json");
  if (!inspect)
    return tl::unexpected(inspect.error());
  auto info = ParseObject(inspect->body);
  const json::object* config = info ? GetObject(*info, "Config") : nullptr;
  if (inspect->status != 200 || config == nullptr)
    return Fail(ErrorCode::kInternal, "docker: the created container cannot be inspected");
  const std::string user = common::StringField(*config, "User");
  std::string passwd;
  std::string group;
  if (!user.empty()) {
    for (auto [path, out] : {std::pair<const char*, std::string*>{"/etc/passwd", &passwd},
                             std::pair<const char*, std::string*>{"/etc/group", &group}}) {
      auto fetched = client_.Call("GET", "/containers/" + task_.container_id +
                                             "/archive?path=" + UrlEncode(path));
      if (!fetched)
        return tl::unexpected(fetched.error());
      if (fetched->status == 200)
        *out = FirstFileOfTar(fetched->body).value_or(std::string());
    }
  }
  auto owner = ResolveContainerUser(user, passwd, group);
  if (!owner)
    return tl::unexpected(owner.error());
  // Extracted at the root (the volume at /workspace is mounted meanwhile): the daemon refuses
  // symlinks that lead out of the directory it extracts into, and a repository's may.
  auto tar =
      TarDirectory(clone_dir + "/workspace/repo", "workspace/repo", owner->uid, owner->gid);
  if (!tar)
    return tl::unexpected(tar.error());
  auto copied = client_.Call("PUT", "/containers/" + task_.container_id + "/archive?path=%2F",
                             *tar, 10min);
  if (!copied)
    return tl::unexpected(copied.error());
  if (copied->status != 200) {
    return Fail(ErrorCode::kInternal,
                "docker: the repository could not be copied into the container: " +
                    ErrorMessage(*copied));
  }
  return {};
}

bool DockerProvider::Runner::StartAttached() {
  // Attached before the start, the stream misses nothing and a line arrives as it is written;
  // following the log could only begin once the start has returned.
  std::optional<AttachStream> attach;
  attach.emplace(provider_.options_.endpoint, task_.container_id, provider_.stop_);
  const bool attached = attach->WaitAttached(30s);
  if (!attached)
    attach.reset();  // the log is followed instead
  auto started = client_.Call("POST", "/containers/" + task_.container_id + "/start");
  if (!started || started->status / 100 != 2) {
    attach.reset();
    TaskExit exit;
    exit.cause = TaskExit::Cause::kFailedToStart;
    exit.exit_code = 1;
    exit.reason = "docker: the container could not start: " +
                  (started ? ErrorMessage(*started) : started.error().message);
    Finish(exit, true);
    return false;
  }
  started_ms_ = NowMs();
  if (!attach)
    return true;
  OutputPipeline pipeline(task_.secrets, task_.cap);
  std::vector<core::LogEvent> events;
  seen_ = {};
  for (const auto& line : task_.prefix)
    pipeline.AddRunvoyLine(line, *started_ms_, events);
  Keep(events);
  (void)Deliver();
  FrameDecoder decoder;
  std::string bytes;
  while (attach->Take(bytes, 100ms)) {
    const int64_t now = NowMs();
    decoder.Feed(bytes, [&](int stream, std::string_view payload) {
      pipeline.AddFrame(stream, payload, now, events);
    });
    bytes.clear();
    Keep(events);
    if (!Tick())
      return true;  // the provider stops: the container goes on without this server
  }
  // Whatever ended the stream (the container's end, the daemon going away, a slow sink), the
  // container's log decides: it is read again and what the stream missed is delivered then.
  return true;
}

void DockerProvider::Runner::Run() {
  produced_ = task_.after_sequence;
  OpenJournal();
  if (!task_.attached) {
    const TaskSpec& spec = *task_.spec;
    for (const auto& line : spec.banner)
      QueueRunvoyLine(line);
    if (auto failure = EnsureImage()) {
      if (Stopping())
        return;
      EndBeforeStart(*failure, false);
      return;
    }
    // A git workspace is cloned on the server (the container may have no network) before the
    // container exists: its progress lines are part of the lines written before the container.
    std::optional<std::string> clone_dir;
    struct CloneRemover {
      std::optional<std::string>& dir;
      ~CloneRemover() {
        std::error_code ec;
        if (dir)
          std::filesystem::remove_all(*dir, ec);
      }
    } remover{clone_dir};
    if (!spec.git.repo.empty()) {
      auto cloned = CloneRepository();
      if (Stopping())
        return;
      if (!cloned || Cancelled()) {
        EndBeforeStart(cloned ? std::string() : cloned.error().message, false);
        return;
      }
      clone_dir = *cloned;
    }
    auto created = CreateContainer();
    if (!created) {
      EndBeforeStart(created.error().message, false);
      return;
    }
    task_.container_id = *created;
    if (clone_dir) {
      auto copied = CopyWorkspace(*clone_dir);
      std::error_code ec;
      std::filesystem::remove_all(*clone_dir, ec);
      clone_dir.reset();
      if (!copied) {
        EndBeforeStart(copied.error().message, true);
        return;
      }
    }
    // A kill that came while the container was being created ends it before it starts.
    bool cancelled;
    {
      std::lock_guard lock(task_.mu);
      cancelled = task_.kill_cause.has_value();
      if (!cancelled)
        task_.container_started = true;
    }
    if (cancelled) {
      TaskExit exit;
      {
        std::lock_guard lock(task_.mu);
        exit.cause = *task_.kill_cause;
      }
      Finish(exit, true);
      return;
    }
    if (!StartAttached())
      return;
    if (Stopping())
      return;
  }

  // From here on the container exists: follow it until it ends, across daemon restarts. The
  // log is read from the start each time; what was delivered before is skipped.
  bool just_started = false;
  for (;;) {
    int64_t created_ms = 0;
    if (!just_started) {
      auto inspect = client_.Call("GET", "/containers/" + task_.container_id + "/json");
      if (!inspect) {
        if (!Pause(500ms))
          return;  // the daemon is away: try again (the provider stops → leave it)
        continue;
      }
      if (inspect->status == 404) {
        TaskExit exit;
        exit.cause = started_ms_ ? TaskExit::Cause::kSignaled : TaskExit::Cause::kFailedToStart;
        exit.signal = started_ms_ ? SIGKILL : 0;
        exit.exit_code = started_ms_ ? 0 : 1;
        exit.reason = "docker: the container of this execution is gone";
        Finish(exit, false);
        return;
      }
      auto info = ParseObject(inspect->body);
      const json::object* state = info ? GetObject(*info, "State") : nullptr;
      if (state == nullptr) {
        if (!Pause(500ms))
          return;
        continue;
      }
      if (!started_ms_)
        started_ms_ = EngineTime(common::StringField(*state, "StartedAt"));
      const std::string status = common::StringField(*state, "Status");
      if (status == "created") {
        // Created but never started: the server stopped in between.
        TaskExit exit;
        exit.cause = TaskExit::Cause::kFailedToStart;
        exit.exit_code = 1;
        exit.reason = "docker: the server stopped before the container started";
        Finish(exit, true);
        return;
      }
      {
        std::lock_guard lock(task_.mu);
        task_.container_started = true;
      }
      created_ms = EngineTime(common::StringField(*info, "Created")).value_or(0);
    }
    just_started = false;
    (void)Deliver();
    // Re-read from the start each time; the events kept before are skipped.
    OutputPipeline pipeline(task_.secrets, task_.cap);
    std::vector<core::LogEvent> prefix_events;
    seen_ = {};
    for (const auto& line : task_.prefix)
      pipeline.AddRunvoyLine(line, created_ms, prefix_events);
    Keep(prefix_events);
    int64_t frames = 0;
    const bool complete = ReadLog(pipeline, true, frames);
    if (Stopping())
      return;
    if (!complete) {
      if (!Pause(500ms))
        return;
      continue;
    }
    // The stream ends when the container stops (or the daemon goes down: check).
    auto after = client_.Call("GET", "/containers/" + task_.container_id + "/json");
    if (!after) {
      if (!Pause(500ms))
        return;
      continue;
    }
    auto final_info = ParseObject(after->body);
    const json::object* final_state = final_info ? GetObject(*final_info, "State") : nullptr;
    if (after->status != 200 || final_state == nullptr) {
      continue;
    }
    const std::string final_status = common::StringField(*final_state, "Status");
    if (final_status == "running" || final_status == "restarting" || final_status == "paused") {
      if (!Pause(200ms))
        return;
      continue;
    }
    // The follow stream may end before the daemon has written the container's last bytes
    // (a last line without a newline): read what came after the frames already seen.
    if (!ReadLog(pipeline, false, frames)) {
      if (Stopping() || !Pause(500ms))
        return;
      continue;
    }
    std::vector<core::LogEvent> tail;
    pipeline.Finish(NowMs(), tail);
    Keep(tail);
    TaskExit exit = ExitFromInspect(*final_info, pipeline);
    Finish(exit, true);
    return;
  }
}

DockerProvider::~DockerProvider() {
  stop_.store(true);
  std::vector<std::shared_ptr<Task>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, task] : tasks_)
      all.push_back(task);
    for (auto& task : finished_)
      all.push_back(task);
    tasks_.clear();
    finished_.clear();
  }
  for (auto& task : all) {
    if (task->thread.joinable())
      task->thread.join();
  }
}

void DockerProvider::Reap() {
  std::vector<std::shared_ptr<Task>> done;
  {
    std::lock_guard lock(mu_);
    for (auto it = finished_.begin(); it != finished_.end();) {
      if ((*it)->done.load()) {
        done.push_back(*it);
        it = finished_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& task : done) {
    if (task->thread.joinable())
      task->thread.join();
  }
}

void DockerProvider::Launch(std::shared_ptr<Task> task) {
  Reap();
  Task* raw = task.get();
  {
    std::lock_guard lock(mu_);
    tasks_[task->execution_id] = task;
  }
  raw->thread = std::thread([this, raw] {
    Runner runner(*this, *raw);
    runner.Run();
    std::lock_guard lock(mu_);
    auto it = tasks_.find(raw->execution_id);
    if (it != tasks_.end() && it->second.get() == raw) {
      finished_.push_back(it->second);
      tasks_.erase(it);
    }
    raw->done.store(true);
  });
}

Result<void> DockerProvider::Ping() {
  auto pong = Control("GET", "/_ping");
  if (!pong)
    return tl::unexpected(pong.error());
  if (pong->status != 200) {
    return Fail(
        ErrorCode::kServiceUnavailable,
        "docker daemon unreachable at " + options_.endpoint.host + ": " + ErrorMessage(*pong));
  }
  return {};
}

Result<std::string> DockerProvider::Start(const TaskSpec& spec) {
  if (!ValidExecutionId(spec.execution_id))
    return Fail(ErrorCode::kInvalidRequest, "invalid execution id");
  if (sink_.load() == nullptr)
    return Fail(ErrorCode::kInternal, "no event sink set");
  if (auto r = core::ParseImageReference(spec.image.reference); !r) {
    return Fail(ErrorCode::kInvalidRequest,
                "docker: invalid image reference \"" + spec.image.reference + "\"");
  }
  {
    std::lock_guard lock(mu_);
    if (tasks_.count(spec.execution_id) != 0)
      return Fail(ErrorCode::kConflict, "execution already started");
  }
  // Refuse at once when the daemon is away: the run is answered 503, nothing is left behind.
  if (auto r = Ping(); !r)
    return tl::unexpected(r.error());
  auto task = std::make_shared<Task>();
  task->execution_id = spec.execution_id;
  task->spec = spec;
  for (const auto& name : ScrubEnvNames(spec)) {
    auto it = spec.env.find(name);
    if (it != spec.env.end()) {
      task->secrets.push_back(it->second);
      continue;
    }
    for (const auto& s : spec.secrets) {
      if (s.key_name == name)
        task->secrets.push_back(s.value);
    }
  }
  for (const auto& s : spec.secrets)
    task->secrets.push_back(s.value);
  if (!spec.git.repo.empty()) {
    // What git sends: scrubbed with its base64 form, as the local sandbox does.
    if (const std::string token = git::FindGitToken(spec); !token.empty())
      task->secrets.push_back("x-access-token:" + token);
  }
  if (spec.timeout.count() > 0) {
    task->deadline_ms =
        NowMs() + std::chrono::duration_cast<std::chrono::milliseconds>(spec.timeout).count();
  }
  task->grace_ms = spec.kill_grace.count();
  task->cap = spec.output_cap_bytes;
  Launch(std::move(task));
  return ContainerName(spec.execution_id);
}

Result<void> DockerProvider::Attach(const std::string& execution_id, const std::string& task_ref,
                                    int64_t after_sequence) {
  if (!ValidExecutionId(execution_id))
    return Fail(ErrorCode::kNotFound, "no trace of execution " + execution_id);
  {
    std::lock_guard lock(mu_);
    if (tasks_.count(execution_id) != 0)
      return {};
  }
  const std::string ref = task_ref.empty() ? ContainerName(execution_id) : task_ref;
  auto inspect = Control("GET", "/containers/" + UrlEncode(ref) + "/json");
  if (!inspect)
    return tl::unexpected(inspect.error());
  if (inspect->status == 404)
    return Fail(ErrorCode::kNotFound, "no trace of execution " + execution_id);
  auto info = ParseObject(inspect->body);
  const json::object* config = info ? GetObject(*info, "Config") : nullptr;
  const json::object* labels = config ? GetObject(*config, "Labels") : nullptr;
  if (inspect->status != 200 || labels == nullptr ||
      common::StringField(*labels, kLabelExecution) != execution_id) {
    return Fail(ErrorCode::kNotFound, "no trace of execution " + execution_id);
  }
  auto task = std::make_shared<Task>();
  task->execution_id = execution_id;
  task->container_id = common::StringField(*info, "Id");
  task->attached = true;
  task->after_sequence = after_sequence;
  task->deadline_ms = ParseInt(common::StringField(*labels, kLabelDeadline), 0);
  task->grace_ms = ParseInt(common::StringField(*labels, kLabelGrace), 10000);
  task->cap = ParseInt(common::StringField(*labels, kLabelCap), task->cap);
  boost::system::error_code ec;
  auto prefix = json::parse(common::StringField(*labels, kLabelPrefix), ec);
  if (!ec && prefix.is_array()) {
    for (const auto& line : prefix.as_array()) {
      if (line.is_string())
        task->prefix.emplace_back(line.as_string());
    }
  }
  // The values to scrub come back from the container's own environment.
  std::set<std::string> scrub;
  const std::string names = common::StringField(*labels, kLabelScrub);
  for (size_t start = 0; start < names.size();) {
    size_t comma = names.find(',', start);
    if (comma == std::string::npos)
      comma = names.size();
    scrub.insert(names.substr(start, comma - start));
    start = comma + 1;
  }
  if (const auto* env = config->if_contains("Env"); env && env->is_array()) {
    for (const auto& entry : env->as_array()) {
      if (!entry.is_string())
        continue;
      const std::string text(entry.as_string());
      const size_t eq = text.find('=');
      if (eq != std::string::npos && scrub.count(text.substr(0, eq)) != 0)
        task->secrets.push_back(text.substr(eq + 1));
    }
  }
  Launch(std::move(task));
  return {};
}

Result<void> DockerProvider::Kill(const std::string& execution_id, KillReason reason) {
  if (!ValidExecutionId(execution_id))
    return {};
  std::shared_ptr<Task> task;
  {
    std::lock_guard lock(mu_);
    auto it = tasks_.find(execution_id);
    if (it != tasks_.end())
      task = it->second;
  }
  const TaskExit::Cause cause =
      reason == KillReason::kTimeout ? TaskExit::Cause::kTimedOut : TaskExit::Cause::kKilledByUser;
  if (task == nullptr) {
    // A container this server does not follow (an orphan): nothing waits for a grace.
    auto r = Control("POST", "/containers/" + ContainerName(execution_id) + "/kill?signal=SIGKILL");
    if (!r)
      return tl::unexpected(r.error());
    return {};
  }
  std::string container;
  {
    std::lock_guard lock(task->mu);
    if (!task->kill_cause)
      task->kill_cause = cause;
    if (!task->container_started)
      return {};  // the task thread stops before the container starts
    if (task->sigkill_at_ms == 0 || reason == KillReason::kTimeout)
      task->sigkill_at_ms = NowMs() + task->grace_ms;
    container = task->container_id;
  }
  const char* signal = task->grace_ms > 0 ? "SIGTERM" : "SIGKILL";
  auto r = Control("POST", "/containers/" + container + "/kill?signal=" + signal);
  if (!r)
    return tl::unexpected(r.error());
  return {};
}

Result<std::vector<TaskState>> DockerProvider::List() {
  json::object filters;
  filters["label"] = json::array{json::string(std::string(kLabelManaged) + "=true"),
                                 json::string(std::string(kLabelNode) + "=" + options_.node_id)};
  auto listed =
      Control("GET", "/containers/json?all=1&filters=" + UrlEncode(json::serialize(filters)));
  if (!listed)
    return tl::unexpected(listed.error());
  if (listed->status != 200) {
    return Fail(
        ErrorCode::kServiceUnavailable,
        "docker daemon unreachable at " + options_.endpoint.host + ": " + ErrorMessage(*listed));
  }
  boost::system::error_code ec;
  auto value = json::parse(listed->body, ec);
  std::map<std::string, TaskState> out;
  if (!ec && value.is_array()) {
    for (const auto& item : value.as_array()) {
      if (!item.is_object())
        continue;
      const auto& o = item.as_object();
      const json::object* labels = GetObject(o, "Labels");
      if (labels == nullptr)
        continue;
      TaskState state;
      state.execution_id = common::StringField(*labels, kLabelExecution);
      state.task_ref = common::StringField(o, "Id");
      const std::string s = common::StringField(o, "State");
      state.running = s == "running" || s == "created" || s == "restarting" || s == "paused";
      if (!state.execution_id.empty())
        out[state.execution_id] = state;
    }
  }
  // Tasks still fetching their image have no container yet.
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, task] : tasks_) {
      if (out.count(id) == 0 && !task->done.load()) {
        TaskState state;
        state.execution_id = id;
        state.task_ref = ContainerName(id);
        state.running = true;
        out[id] = state;
      }
    }
  }
  std::vector<TaskState> result;
  for (auto& [id, state] : out)
    result.push_back(std::move(state));
  return result;
}

Result<void> DockerProvider::CheckImage(const contract::ImageSpec& image) {
  if (image.reference == "host") {
    return Fail(ErrorCode::kInvalidRequest,
                "the reserved image \"host\" is for the local provider, not docker");
  }
  if (auto r = core::ParseImageReference(image.reference); !r) {
    return Fail(ErrorCode::kInvalidRequest, "invalid image reference \"" + image.reference + "\"",
                r.error().message);
  }
  if (!image.runtime_platform.empty()) {
    struct utsname u;
    ::uname(&u);
    const std::string machine = u.machine;
    const std::string want = machine == "aarch64" ? "Linux/ARM64" : "Linux/X86_64";
    if (image.runtime_platform != want) {
      return Fail(ErrorCode::kInvalidRequest, "runtime platform " + image.runtime_platform +
                                                  " cannot run on this " + machine +
                                                  " docker host");
    }
  }
  return {};
}

Result<void> DockerProvider::ImportImage(const contract::ImageSpec& image,
                                         const std::string& tarball_path) {
  auto reference = core::ParseImageReference(image.reference);
  if (!reference) {
    return Fail(ErrorCode::kInvalidRequest, "invalid image reference \"" + image.reference + "\"");
  }
  std::ifstream in(tarball_path, std::ios::binary);
  if (!in)
    return Fail(ErrorCode::kInternal, "cannot read the uploaded image");
  std::string tarball((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (tarball.empty())
    return Fail(ErrorCode::kInvalidRequest, "the uploaded image is empty");
  DockerClient client(options_.endpoint);
  auto loaded = client.Call("POST", "/images/load?quiet=1", tarball, 10min);
  if (!loaded)
    return tl::unexpected(loaded.error());
  if (loaded->status != 200) {
    return Fail(ErrorCode::kInvalidRequest,
                "docker could not load the image: " + ErrorMessage(*loaded));
  }
  // A stream of JSON lines: {"stream":"Loaded image: name:tag\n"} or "Loaded image ID: sha256:..."
  // per image, or {"error": "..."}.
  std::string source;
  size_t start = 0;
  while (start < loaded->body.size()) {
    size_t end = loaded->body.find('\n', start);
    if (end == std::string::npos)
      end = loaded->body.size();
    auto message = ParseObject(loaded->body.substr(start, end - start));
    start = end + 1;
    if (!message)
      continue;
    const std::string error = common::StringField(*message, "error");
    if (!error.empty())
      return Fail(ErrorCode::kInvalidRequest, "docker could not load the image: " + error);
    std::string text = common::StringField(*message, "stream");
    for (const char* prefix : {"Loaded image ID: ", "Loaded image: "}) {
      if (source.empty() && text.rfind(prefix, 0) == 0) {
        source = text.substr(std::strlen(prefix));
        while (!source.empty() && (source.back() == '\n' || source.back() == '\r'))
          source.pop_back();
      }
    }
  }
  if (source.empty()) {
    return Fail(ErrorCode::kInvalidRequest,
                "docker loaded no image from the upload (a `docker save` tarball is expected)");
  }
  const std::string repo =
      reference->registry.empty() ? reference->name : reference->registry + "/" + reference->name;
  auto tagged = client.Call("POST", "/images/" + source + "/tag?repo=" + UrlEncode(repo) +
                                        "&tag=" + UrlEncode(reference->tag));
  if (!tagged)
    return tl::unexpected(tagged.error());
  if (tagged->status != 201) {
    return Fail(ErrorCode::kInvalidRequest, "docker could not tag the image as " + image.reference +
                                                ": " + ErrorMessage(*tagged));
  }
  return {};
}

Result<std::unique_ptr<contract::ComputeProvider>> MakeDocker(
    const contract::ProviderContext& context) {
  Options options;
  options.endpoint.host = context.Get("host", "unix:///var/run/docker.sock");
  options.endpoint.tls_ca = context.Get("tls_ca");
  options.endpoint.tls_cert = context.Get("tls_cert");
  options.endpoint.tls_key = context.Get("tls_key");
  if (auto r = ValidateEndpoint(options.endpoint); !r)
    return tl::unexpected(r.error());
  options.network = context.Get("network", "none");
  if (options.network.empty()) {
    return Fail(ErrorCode::kInvalidRequest, "compute.docker.network must not be empty");
  }
  const std::string pids = context.Get("pids_limit", "512");
  const int64_t pids_limit = ParseInt(pids, -1);
  if (pids_limit < 1 || pids_limit > 4194304) {
    return Fail(ErrorCode::kInvalidRequest,
                "compute.docker.pids_limit must be a positive number, not \"" + pids + "\"");
  }
  options.pids_limit = static_cast<int>(pids_limit);
  const std::string init = context.Get("init", "true");
  if (init != "true" && init != "false") {
    return Fail(ErrorCode::kInvalidRequest,
                "compute.docker.init must be true or false, not \"" + init + "\"");
  }
  options.init = init == "true";
  options.node_id = context.node_id.empty() ? "default" : context.node_id;
  if (!context.data_dir.empty())
    options.journal_dir = context.data_dir + "/docker";
  return std::unique_ptr<contract::ComputeProvider>(
      std::make_unique<DockerProvider>(std::move(options)));
}

}  // namespace

void Register(contract::Registry& registry) {
  registry.AddCompute("docker",
                      {"host", "tls_ca", "tls_cert", "tls_key", "network", "pids_limit", "init"},
                      MakeDocker);
}

}  // namespace runvoy::providers::docker
