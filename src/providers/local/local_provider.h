#pragma once

// The `local` compute provider: runs each execution in an embedded sandbox (namespaces,
// pivot_root into a fresh root, cgroup limits) owned by a detached supervisor process per
// execution (see supervisor.h), which survives server restarts. The provider tails each
// supervisor's files under <data_dir>/executions/<execution_id>/ with inotify and feeds the
// EventSink; it deletes that directory once OnExited has returned.
//
// Section keys (compute.local): network (none|host, default none), user (default nobody),
// pids_limit (default 512), image_cache_bytes (default 10GiB, 0 = unbounded: the bound of the
// OCI image cache, see image/image_store.h), workspace_bytes (default 1GiB: the size of the
// task's /workspace and of its /tmp, each a tmpfs).

#include "contract/registry.h"

namespace runvoy::providers::local {

// Adds compute provider "local".
void Register(contract::Registry& registry);

}  // namespace runvoy::providers::local
