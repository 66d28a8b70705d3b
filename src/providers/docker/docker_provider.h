#pragma once

// The `docker` compute provider: runs each execution as a container of the Docker Engine
// (Engine API 1.41 over its unix socket, or TCP with optional TLS; see docker_client.h). One
// thread per task pulls the image when missing (one pull per image at a time), clones a git
// workspace on the server (providers/git), creates the container (labels io.runvoy.*, limits
// from the image's cpu/memory, a pids limit, network `none` by default, an anonymous volume at
// /workspace), copies the clone into it, attaches to its output, starts it, delivers its lines
// as they come, reads its stored log once more at the end, waits for it and removes it once
// the EventSink has recorded the exit. Containers outlive the server: after a restart Attach()
// re-reads a container's log from the start and delivers only what comes after what the store
// has (per stream, by the journal of delivered streams under <data_dir>/docker; docs/docker.md).
//
// Section keys (compute.docker): host (unix:///var/run/docker.sock), tls_ca, tls_cert,
// tls_key, network (none; or host, or the name of an existing network), pids_limit (512),
// init (true: docker-init runs as PID 1 and the command under it).

#include "contract/registry.h"

namespace runvoy::providers::docker {

// Adds compute provider "docker".
void Register(contract::Registry& registry);

}  // namespace runvoy::providers::docker
