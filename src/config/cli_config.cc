#include "config/cli_config.h"

#include <array>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/internal/yaml_support.h"

namespace runvoy::config {

Result<CliFileConfig> ParseCliConfig(const std::string& yaml_text) {
  const std::string what = "config.yaml";
  auto root = internal::LoadYaml(what, yaml_text);
  if (!root) {
    return tl::unexpected(root.error());
  }
  CliFileConfig config;
  if (root->IsNull()) {
    return config;
  }
  if (!root->IsMap()) {
    return tl::unexpected(
        internal::ErrorAt(what, *root, "expected a map of keys, got " + internal::KindName(*root)));
  }
  constexpr std::array<std::pair<std::string_view, std::string CliFileConfig::*>, 3> kKeys = {{
      {"api_endpoint", &CliFileConfig::api_endpoint},
      {"api_key", &CliFileConfig::api_key},
      {"web_url", &CliFileConfig::web_url},
  }};
  for (const auto& entry : *root) {
    if (!entry.first.IsScalar()) {
      continue;
    }
    for (const auto& [key, field] : kKeys) {
      if (entry.first.Scalar() != key) {
        continue;
      }
      const YAML::Node& value = entry.second;
      if (value.IsNull()) {
        break;
      }
      if (!value.IsScalar()) {
        return tl::unexpected(internal::ErrorAt(
            what, value,
            fmt::format("{}: expected a value, got {}", key, internal::KindName(value))));
      }
      config.*field = value.Scalar();
    }
  }
  return config;
}

std::string RenderCliConfig(const CliFileConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  const std::array<std::pair<const char*, const std::string*>, 3> fields = {{
      {"api_endpoint", &config.api_endpoint},
      {"api_key", &config.api_key},
      {"web_url", &config.web_url},
  }};
  for (const auto& [key, value] : fields) {
    if (value->empty()) {
      continue;
    }
    out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << *value;
  }
  out << YAML::EndMap;
  std::string text = out.c_str();
  if (text == "{}") {
    return "";
  }
  return text + "\n";
}

}  // namespace runvoy::config
