#pragma once

// Git workspaces of the local sandbox (SPEC.md §2.7): the task's init process clones
// TaskSpec.git into the fresh /workspace before the command starts, with the host's `git` and
// the host's network (entered through GitCloneOptions.net_fd), whatever the task's own network
// is. The clone itself is the providers' shared one (providers/git/git_workspace.h); these are
// its names as the local sandbox uses them.

#include "providers/git/git_workspace.h"

namespace runvoy::providers::local {

using git::CheckGitPath;
using git::CloneIntoWorkspace;
using git::FindGitBinary;
using git::FindGitToken;
using git::GitCloneOptions;
using git::GitWorkingDirectory;
using git::LooksLikeCommit;
using git::ValidateGitPath;

}  // namespace runvoy::providers::local
