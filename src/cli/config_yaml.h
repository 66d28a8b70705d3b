#pragma once

// The CLI config file's text format: forwards to src/config/cli_config.h (yaml-cpp lives
// only there).

#include <string>
#include <string_view>

#include "core/error.h"

namespace runvoy::cli {

struct CliConfig {
  std::string api_endpoint;  // the server's base URL, e.g. "http://127.0.0.1:56212"
  std::string api_key;
  std::string web_url;  // the viewer's base URL; empty = the endpoint + "/"
};

// Reads `api_endpoint`, `api_key` and `web_url`; unknown keys are ignored. kInvalidRequest
// when the text is not such a YAML mapping.
core::Result<CliConfig> ParseCliConfigText(std::string_view text);

// A YAML document that ParseCliConfigText reads back to the same values.
std::string RenderCliConfigText(const CliConfig& config);

}  // namespace runvoy::cli
