#pragma once

#include <filesystem>
#include <string>

#include "cli/config_yaml.h"
#include "cli/environment.h"
#include "core/error.h"

namespace runvoy::cli {

// Where the CLI keeps its files: $HOME/.runvoy (the password database's home when HOME is
// unset).
std::filesystem::path RunvoyHomeDir(const Environment& env);
std::filesystem::path ConfigFilePath(const Environment& env);

// Reads the config file. A missing file is an empty config, not an error. kInvalidRequest
// when the file cannot be read or parsed. Sets `*too_open` (when given) if the file can be
// read by group or others.
core::Result<CliConfig> LoadConfigFile(const std::filesystem::path& path, bool* too_open = nullptr);

// Writes the config file atomically: its directory is created (or fixed) as 0700 and the
// file as 0600. kInternal with the cause when the file system refuses.
core::Result<void> SaveConfigFile(const std::filesystem::path& path, const CliConfig& config);

// RUNVOY_API_ENDPOINT, RUNVOY_API_KEY and RUNVOY_WEB_URL, when set and not empty, override the
// file's values.
CliConfig ApplyEnvironment(CliConfig config, const Environment& env);

// "http://h:1" → "http://h:1/api/v1"; a trailing "/" or an "/api/v1" already there is
// tolerated.
std::string ApiBaseUrl(const std::string& api_endpoint);
// The viewer's base URL without a trailing "/": web_url, else the endpoint (without /api/v1).
std::string WebBaseUrl(const CliConfig& config);
// "<web>/logs?execution_id=<id>".
std::string ViewerLink(const CliConfig& config, const std::string& execution_id);

}  // namespace runvoy::cli
