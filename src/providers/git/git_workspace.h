#pragma once

// Git workspaces (SPEC.md §2.7), shared by the compute providers: a clone of TaskSpec.git
// made with the server's own `git` (the image may lack it) and the server's network, whatever
// the task's own network is. The local sandbox clones from the task's init process straight
// into the task's /workspace; the docker provider clones into a temporary directory on the host
// and copies the result into the container before it starts.
//
// The token (GITHUB_TOKEN or GIT_TOKEN, request env or secret) reaches git only through the
// environment of the git process, as an http.extraHeader set by GIT_CONFIG_COUNT; never on a
// command line, in a URL or in a file.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "contract/compute.h"
#include "core/error.h"

namespace runvoy::providers::git {

struct GitCloneOptions {
  contract::GitSource source;
  std::string token;               // empty: no credentials
  std::vector<std::string> scrub;  // values hidden from the failure reason (token, secrets)
  bool chown = true;               // hand the cloned files to uid/gid
  uid_t uid = 65534;               // owner of the cloned files
  gid_t gid = 65534;
  int progress_fd = -1;     // progress and git's messages go there as lines (stream runvoy)
  // When set, receives those lines instead of progress_fd (one line each, without "\n").
  std::function<void(const std::string& line)> on_progress;
  // When set, asked about five times a second while git runs; false kills git (its whole
  // process group) and the clone fails with "cancelled".
  std::function<bool()> keep_going;
  int net_fd = -1;          // a network namespace to run git in; -1 = the current one
  std::string home_parent;  // a private, writable directory for git's temporary HOME
};

// The path of the server's git binary; empty when git is not installed.
std::string FindGitBinary();

// The token for HTTPS clones: GITHUB_TOKEN, then GIT_TOKEN, from the request env (which wins,
// as in the command's environment) or else from the secrets. Empty when there is none.
std::string FindGitToken(const contract::TaskSpec& task);

// Whether `ref` is taken as a commit: 7 to 64 hex digits.
bool LooksLikeCommit(std::string_view ref);

// The working directory of the command inside the sandbox: /workspace, or
// /workspace/repo[/<path>] when a repository is cloned.
std::string GitWorkingDirectory(const contract::GitSource& git);

// Checks that `path` is empty or relative without a ".." segment.
core::Result<void> ValidateGitPath(const std::string& path);

// Checks that `path` (relative, no "..") names a directory inside `repo_dir` once every symlink
// is resolved. The failure reason names the path.
core::Result<void> CheckGitPath(const std::string& repo_dir, const std::string& path);

// Clones `options.source` into `workspace_dir`/repo (running git in `workspace_dir`), checks out
// the ref, checks the path and (with options.chown) hands every file to options.uid/gid. Branches and tags are
// fetched with --depth 1, commits with a full clone. Git runs with a clean environment: a
// temporary HOME, no system or global configuration, no terminal prompts. Blocks until git is
// done; bounded by options.keep_going, or else by whoever can kill the calling process (the
// supervisor kills the task's init).
// The failure reason has every value of options.scrub replaced by "***".
core::Result<void> CloneIntoWorkspace(const GitCloneOptions& options,
                                      const std::string& workspace_dir);

}  // namespace runvoy::providers::git
