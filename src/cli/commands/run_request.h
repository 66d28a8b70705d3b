#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "cli/environment.h"
#include "core/error.h"

namespace runvoy::cli {

// The flags of `runvoy run` (and the overrides of `playbook run`).
struct RunArgs {
  std::vector<std::string> command_words;
  std::string image;
  std::string git_repo;
  std::string git_ref;
  std::string git_path;
  std::vector<std::string> secrets;
  std::vector<std::string> env;  // "K=V"
  std::string run_timeout;       // "90s", "10m", ...
  bool detach = false;
};

// The body of POST /run: the command words joined with spaces (a leading "--" dropped),
// env from RUNVOY_USER_<NAME> in `caller_env` then -e K=V (which wins), the timeout in whole
// seconds (rounded up). kInvalidRequest with a message for the user on a bad flag or an
// empty command.
core::Result<boost::json::object> BuildRunRequest(const RunArgs& args,
                                                  const Environment& caller_env);

// Whether `name` is a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*).
bool IsEnvName(const std::string& name);

// Starts the run and follows it (run, playbook run). Returns the exit code.
class Context;
int StartAndFollow(Context& context, const boost::json::object& request, bool detach);

}  // namespace runvoy::cli
