#pragma once

// What the docker provider needs to hand a git workspace cloned on the server to a container
// (PUT /containers/{id}/archive): a tar stream of the clone owned by the container's user, and
// that user's numeric IDs as the container's own /etc/passwd and /etc/group define them.

#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "core/error.h"

namespace runvoy::providers::docker {

struct ContainerOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The IDs of a container's `User` ("", "name", "uid", "name:group", "uid:gid", ...) the way
// the runtime resolves them: empty is root; a name is looked up in `passwd` (its primary group
// unless a group is given); a number need not be there (group 0 then, or its passwd group); a
// group name is looked up in `group`. kInvalidRequest when a name is unknown.
core::Result<ContainerOwner> ResolveContainerUser(const std::string& user,
                                                  const std::string& passwd,
                                                  const std::string& group);

// A tar stream (POSIX pax) of `dir` and everything under it, named `name` and `name`/..., every
// entry owned by `uid`/`gid`, modes kept, symlinks as symlinks (never followed). Only
// directories, regular files and symlinks are taken.
core::Result<std::string> TarDirectory(const std::string& dir, const std::string& name, uid_t uid,
                                       gid_t gid);

// The content of the first regular file in the tar stream `tar` (what GET
// /containers/{id}/archive?path=<file> answers); nullopt when there is none.
std::optional<std::string> FirstFileOfTar(std::string_view tar);

}  // namespace runvoy::providers::docker
