#include "cli/config_yaml.h"

#include "config/cli_config.h"

namespace runvoy::cli {

core::Result<CliConfig> ParseCliConfigText(std::string_view text) {
  auto parsed = config::ParseCliConfig(std::string(text));
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  return CliConfig{parsed->api_endpoint, parsed->api_key, parsed->web_url};
}

std::string RenderCliConfigText(const CliConfig& config) {
  return config::RenderCliConfig({config.api_endpoint, config.api_key, config.web_url});
}

}  // namespace runvoy::cli
