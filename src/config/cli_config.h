#pragma once

// The CLI's own settings file, ~/.runvoy/config.yaml (SPEC.md §4).

#include <string>

#include "core/error.h"

namespace runvoy::config {

using core::Result;

struct CliFileConfig {
  std::string api_endpoint;  // e.g. "http://127.0.0.1:56212"
  std::string api_key;
  std::string web_url;
};

// Reads the three keys; other keys are ignored (a newer CLI may have written them). Empty
// text is an empty config. Errors (kInvalidRequest, with the line number): invalid YAML, a
// document that is not a map, a known key whose value is not a single value.
Result<CliFileConfig> ParseCliConfig(const std::string& yaml_text);

// The YAML text for `config`, with only the non-empty keys; ParseCliConfig reads it back.
std::string RenderCliConfig(const CliFileConfig& config);

}  // namespace runvoy::config
