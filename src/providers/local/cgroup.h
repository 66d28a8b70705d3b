#pragma once

// Resource limits for one task: a cgroup per execution under v1 (/sys/fs/cgroup/{memory,pids,
// cpu}/runvoy/<id>) or, where the unified hierarchy holds the controllers, v2
// (/sys/fs/cgroup/runvoy/<id>). Detected at Create().

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "core/error.h"

namespace runvoy::providers::local {

struct CgroupLimits {
  int cpu = 256;  // 1024 = one core
  int memory_mb = 512;
  int pids_limit = 512;
};

// Not thread-safe.
class TaskCgroup {
 public:
  TaskCgroup() = default;
  TaskCgroup(const TaskCgroup&) = delete;
  TaskCgroup& operator=(const TaskCgroup&) = delete;
  ~TaskCgroup() = default;  // does not remove: call Remove()

  // Creates the cgroup(s) named `name` and applies `limits`. `root` is the cgroup mount root
  // (tests may point elsewhere).
  core::Result<void> Create(const std::string& name, const CgroupLimits& limits,
                            const std::string& root = "/sys/fs/cgroup");
  // Moves process `pid` (and its future children) into the cgroup.
  core::Result<void> Add(pid_t pid);
  // How many processes the kernel's OOM killer killed inside the cgroup.
  int64_t OomKills() const;
  // How many forks failed because of the pids limit.
  int64_t PidsLimitHits() const;
  // SIGKILLs every process still in the cgroup.
  void KillAll() const;
  // Removes the cgroup directories (retrying briefly while the last tasks go away).
  void Remove();

  bool v2() const { return v2_; }
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  std::string memory_dir_;
  std::string pids_dir_;
  std::vector<std::string> dirs_;  // every directory created, deepest last
  bool v2_ = false;
};

}  // namespace runvoy::providers::local
