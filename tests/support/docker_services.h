#pragma once

// The Docker test services started by the ctest fixture `docker_services`
// (tests/support/docker_services.sh): a private dockerd and a loopback registry holding a
// busybox image.

#include <optional>
#include <string>

namespace runvoy::testing {

struct DockerServices {
  std::string host;       // "unix:///tmp/.../docker.sock", for compute.docker.host
  std::string socket;     // the socket's path
  std::string registry;   // "127.0.0.1:<port>"
  std::string image;      // "<registry>/runvoy-test/busybox:1", pushed, not pulled yet
  std::string state_dir;  // the services' state directory
};

// The services written down by the fixture; nullopt when it did not run (e.g. a test binary
// started by hand without `ctest`).
std::optional<DockerServices> LoadDockerServices();

// The path of docker_services.sh (for tests that start a daemon of their own).
std::string DockerServicesScript();

}  // namespace runvoy::testing
