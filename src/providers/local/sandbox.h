#pragma once

// The inside of the local sandbox: what the task's init process (pid 1 of fresh PID, mount, UTS,
// IPC and network namespaces) does before and after it starts the command. Runs in a process
// forked from the single-threaded supervisor.

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "contract/compute.h"
#include "core/error.h"

namespace runvoy::providers::local {

struct SandboxConfig {
  std::string root_dir;         // an empty directory to mount the new root on
  std::string image_reference;  // "host" or an OCI image reference
  // The image's layer directories, bottom first (see image/image_store.h); empty for "host".
  std::vector<std::string> image_layers;
  std::string data_dir;         // never visible inside
  bool host_network = false;
  uid_t uid = 65534;
  gid_t gid = 65534;
  std::string command;           // run by /bin/sh -c
  std::vector<std::string> env;  // "KEY=value"
  int stdout_fd = -1;            // write ends of the output pipes
  int stderr_fd = -1;
  int status_fd = -1;  // init → supervisor: "R", then "S"+wait status, or "E"+reason
  int sync_fd = -1;    // supervisor → init: one byte once the cgroup holds init
  // Git workspace (SPEC.md §2.7): cloned into /workspace/repo before the command when set.
  contract::GitSource git;
  std::string git_token;                  // HTTPS credentials for git; never written anywhere
  std::vector<std::string> scrub_values;  // hidden from git's messages and failure reasons
  int runvoy_fd = -1;                     // write end of the "runvoy" stream's pipe
  int net_fd = -1;  // the host's network namespace, for git when host_network is false
  std::string workdir = "/workspace";  // where the command starts
  uint64_t workspace_bytes = 1ULL << 30;  // size of the /workspace and of the /tmp tmpfs
};

// Whether the root filesystem of `reference` can be built: "host" or a well-formed OCI image
// reference (fetched by the supervisor before the sandbox is built); the reason when not.
core::Result<void> CheckRootfs(const std::string& reference);

// Checks, before the sandbox is built, that the workspace can be filled: with a repository,
// that git_path is relative without ".." and that the server has git. The clone itself is
// done by the task's init (see git_workspace.h) once /workspace exists.
core::Result<void> PrepareWorkspace(const contract::GitSource& git);

// Builds the root filesystem on `config.root_dir` (already in a private mount namespace) and
// pivots into it: the host's directories read-only for "host", else an overlay of
// `config.image_layers` with a writable upper layer.
core::Result<void> PrepareRootfs(const SandboxConfig& config);

// The body of the task's init process; never returns. `keep_fds` are left open (the ones in
// config); every other descriptor is closed first.
[[noreturn]] void RunInit(const SandboxConfig& config);

// Resolves a user name to its uid and primary gid.
core::Result<void> LookupUser(const std::string& name, uid_t& uid, gid_t& gid);

}  // namespace runvoy::providers::local
