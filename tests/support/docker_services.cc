#include "support/docker_services.h"

#include <fstream>
#include <map>

#ifndef RUNVOY_DOCKER_SERVICES_FILE
#error "RUNVOY_DOCKER_SERVICES_FILE must name the fixture's environment file"
#endif
#ifndef RUNVOY_DOCKER_SERVICES_SCRIPT
#error "RUNVOY_DOCKER_SERVICES_SCRIPT must name docker_services.sh"
#endif

namespace runvoy::testing {

std::optional<DockerServices> LoadDockerServices() {
  std::ifstream in(RUNVOY_DOCKER_SERVICES_FILE);
  if (!in)
    return std::nullopt;
  std::map<std::string, std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos)
      values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  DockerServices services;
  services.host = values["RUNVOY_TEST_DOCKER_HOST"];
  services.socket = values["RUNVOY_TEST_DOCKER_SOCKET"];
  services.registry = values["RUNVOY_TEST_REGISTRY"];
  services.image = values["RUNVOY_TEST_DOCKER_IMAGE"];
  services.state_dir = values["RUNVOY_TEST_DOCKER_STATE"];
  if (services.host.empty() || services.image.empty())
    return std::nullopt;
  return services;
}

std::string DockerServicesScript() {
  return RUNVOY_DOCKER_SERVICES_SCRIPT;
}

}  // namespace runvoy::testing
