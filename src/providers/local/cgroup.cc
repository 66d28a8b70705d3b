#include "providers/local/cgroup.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "providers/local/event_log.h"

namespace runvoy::providers::local {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

core::Result<void> WriteValue(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::Fail(core::ErrorCode::kInternal, "cannot open " + path, std::strerror(errno));
  }
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return core::Fail(core::ErrorCode::kInternal, "cannot write " + path, std::strerror(err));
  }
  return {};
}

core::Result<void> MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return core::Fail(core::ErrorCode::kInternal, "cannot create cgroup " + path,
                      std::strerror(errno));
  }
  return {};
}

// The value of `key` in a "key value" per line file, 0 when absent.
int64_t KeyedValue(const std::string& path, const std::string& key) {
  auto text = common::ReadWholeFile(path);
  if (!text)
    return 0;
  std::istringstream in(*text);
  std::string k;
  int64_t v = 0;
  while (in >> k >> v) {
    if (k == key)
      return v;
  }
  return 0;
}

}  // namespace

core::Result<void> TaskCgroup::Create(const std::string& name, const CgroupLimits& limits,
                                      const std::string& root) {
  const int64_t memory = static_cast<int64_t>(limits.memory_mb) * 1024 * 1024;
  const int64_t period = 100000;
  const int64_t quota = std::max<int64_t>(1000, static_cast<int64_t>(limits.cpu) * period / 1024);
  const bool v1 = Exists(root + "/memory/memory.limit_in_bytes") && Exists(root + "/pids") &&
                  Exists(root + "/cpu");
  if (v1) {
    for (const char* controller : {"memory", "pids", "cpu"}) {
      const std::string parent = root + "/" + controller + "/runvoy";
      if (auto r = MakeDir(parent); !r)
        return r;
      const std::string dir = parent + "/" + name;
      if (auto r = MakeDir(dir); !r)
        return r;
      dirs_.push_back(dir);
    }
    memory_dir_ = dirs_[0];
    pids_dir_ = dirs_[1];
    const std::string& cpu_dir = dirs_[2];
    // memsw must not be below the memory limit at any time: set memory first.
    if (auto r = WriteValue(memory_dir_ + "/memory.limit_in_bytes", std::to_string(memory)); !r) {
      return r;
    }
    // Without swap accounting the file is absent; swappiness 0 then keeps the task off swap.
    (void)WriteValue(memory_dir_ + "/memory.memsw.limit_in_bytes", std::to_string(memory));
    (void)WriteValue(memory_dir_ + "/memory.swappiness", "0");
    if (auto r = WriteValue(pids_dir_ + "/pids.max", std::to_string(limits.pids_limit)); !r) {
      return r;
    }
    if (auto r = WriteValue(cpu_dir + "/cpu.cfs_period_us", std::to_string(period)); !r)
      return r;
    if (auto r = WriteValue(cpu_dir + "/cpu.cfs_quota_us", std::to_string(quota)); !r)
      return r;
    return {};
  }
  if (!Exists(root + "/cgroup.controllers")) {
    return core::Fail(core::ErrorCode::kInternal, "no usable cgroup hierarchy under " + root);
  }
  v2_ = true;
  (void)WriteValue(root + "/cgroup.subtree_control", "+memory +pids +cpu");
  const std::string parent = root + "/runvoy";
  if (auto r = MakeDir(parent); !r)
    return r;
  (void)WriteValue(parent + "/cgroup.subtree_control", "+memory +pids +cpu");
  const std::string dir = parent + "/" + name;
  if (auto r = MakeDir(dir); !r)
    return r;
  dirs_.push_back(dir);
  memory_dir_ = pids_dir_ = dir;
  if (auto r = WriteValue(dir + "/memory.max", std::to_string(memory)); !r)
    return r;
  (void)WriteValue(dir + "/memory.swap.max", "0");
  if (auto r = WriteValue(dir + "/pids.max", std::to_string(limits.pids_limit)); !r)
    return r;
  if (auto r = WriteValue(dir + "/cpu.max", std::to_string(quota) + " " + std::to_string(period));
      !r) {
    return r;
  }
  return {};
}

core::Result<void> TaskCgroup::Add(pid_t pid) {
  for (const auto& dir : dirs_) {
    if (auto r = WriteValue(dir + "/cgroup.procs", std::to_string(pid)); !r)
      return r;
  }
  return {};
}

int64_t TaskCgroup::OomKills() const {
  if (memory_dir_.empty())
    return 0;
  return v2_ ? KeyedValue(memory_dir_ + "/memory.events", "oom_kill")
             : KeyedValue(memory_dir_ + "/memory.oom_control", "oom_kill");
}

int64_t TaskCgroup::PidsLimitHits() const {
  if (pids_dir_.empty())
    return 0;
  return KeyedValue(pids_dir_ + "/pids.events", "max");
}

void TaskCgroup::KillAll() const {
  if (pids_dir_.empty())
    return;
  if (v2_ && WriteValue(pids_dir_ + "/cgroup.kill", "1"))
    return;
  for (int round = 0; round < 10; ++round) {
    auto text = common::ReadWholeFile(pids_dir_ + "/cgroup.procs");
    if (!text || text->empty())
      return;
    std::istringstream in(*text);
    pid_t pid;
    while (in >> pid)
      ::kill(pid, SIGKILL);
  }
}

void TaskCgroup::Remove() {
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT)
        break;
      if (errno != EBUSY)
        break;
      KillAll();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the kernel frees the last task
    }
  }
  dirs_.clear();
  memory_dir_.clear();
  pids_dir_.clear();
}

}  // namespace runvoy::providers::local
