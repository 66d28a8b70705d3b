// YAML configuration files: the server's (config::LoadServerConfig reading the input as the
// --config file, with the real provider registry) and the CLI's (config::ParseCliConfig).
// Checks of a server configuration that loads: errors are one line, the data directory is
// absolute, TLS files are both set or both empty, the port is a port. A CLI configuration that
// parses renders to YAML that parses back to the same settings.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "config/cli_config.h"
#include "config/server_config.h"
#include "contract/registry.h"
#include "providers/builtin.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "config: %s\n", what.c_str());
  std::abort();
}

struct Setup {
  Setup() {
    runvoy::providers::RegisterBuiltins(registry);
    const char* dir = std::getenv("TMPDIR");
    path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/runvoy-fuzz-config-" +
           std::to_string(::getpid()) + ".yaml";
  }
  ~Setup() { std::remove(path.c_str()); }
  runvoy::contract::Registry registry;
  std::string path;
};

void CheckServerConfig(const Setup& setup, const std::string& text) {
  {
    std::ofstream out(setup.path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  const std::map<std::string, std::string> environment = {{"HOME", "/nonexistent/fuzz-home"}};
  auto config = runvoy::config::LoadServerConfig({"--config", setup.path}, environment,
                                                 setup.registry, "none");
  if (!config) {
    if (config.error().message.find('\n') != std::string::npos) {
      Fail("multi-line error: " + config.error().message);
    }
    return;
  }
  if (config->data_dir.empty() || config->data_dir[0] != '/') Fail("relative data_dir");
  if (config->tls_cert_file.empty() != config->tls_key_file.empty()) Fail("half a TLS setting");
  if (config->listen_port < 0 || config->listen_port > 65535) Fail("listen port out of range");
}

void CheckCliConfig(const std::string& text) {
  auto config = runvoy::config::ParseCliConfig(text);
  if (!config) return;
  const std::string rendered = runvoy::config::RenderCliConfig(*config);
  auto again = runvoy::config::ParseCliConfig(rendered);
  if (!again) Fail("rendered CLI config does not parse: " + again.error().message);
  if (again->api_endpoint != config->api_endpoint || again->api_key != config->api_key ||
      again->web_url != config->web_url) {
    Fail("rendered CLI config reads back differently:\n" + rendered);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Setup setup;
  const std::string text(reinterpret_cast<const char*>(data), size);
  CheckServerConfig(setup, text);
  CheckCliConfig(text);
  return 0;
}
