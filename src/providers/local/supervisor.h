#pragma once

// The supervisor: one detached process per execution (`runvoy __supervise <dir> <lock_fd>`),
// which owns the task. It reads its SupervisorSpec as JSON on stdin (secret values travel
// there, never in a file), runs the command in the sandbox, scrubs, splits and appends its
// output to <dir>/events, enforces the timeout and kill requests, and writes <dir>/exit.json.
//
// Signals it takes: SIGUSR1 or SIGTERM = killed by a user; SIGUSR2 = timed out (server side).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "contract/compute.h"
#include "core/error.h"

namespace runvoy::providers::local {

inline constexpr char kSuperviseCommand[] = "__supervise";

struct SupervisorSpec {
  contract::TaskSpec task;
  std::string data_dir;
  std::string network = "none";  // "none" or "host"
  std::string user = "nobody";
  int pids_limit = 512;
  uint64_t workspace_bytes = 1ULL << 30;  // the /workspace and /tmp quota (each)
  int64_t image_cache_bytes = int64_t{10} << 30;  // bound of <data_dir>/images; 0 = none
};

std::string EncodeSupervisorSpec(const SupervisorSpec& spec);
core::Result<SupervisorSpec> DecodeSupervisorSpec(std::string_view json);

// The command's environment: PATH, HOME, then the image's Env ("KEY=value", may replace PATH),
// RUNVOY_COMMAND, RUNVOY_EXECUTION_ID, the secrets, then the request env (which wins), as
// "KEY=value".
std::vector<std::string> BuildEnvironment(const contract::TaskSpec& task,
                                          const std::vector<std::string>& image_env = {});

// Entry point of `runvoy __supervise ...`; argv[1] is "__supervise". Returns the exit code.
int SupervisorMain(int argc, char** argv);

}  // namespace runvoy::providers::local
