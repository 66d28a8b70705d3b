#include "config/server_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "config/internal/setting_values.h"
#include "config/internal/yaml_support.h"
#include "core/byte_count.h"
#include "core/time.h"

extern char** environ;  // NOLINT: POSIX

namespace runvoy::config {
namespace {

using contract::ProviderKind;
using core::ErrorCode;
using internal::FormatDuration;
using internal::HostPort;
using internal::IsAddressOrCidr;
using internal::IsHttpUrl;
using internal::Lower;
using internal::ParseBool;
using internal::ParseHostPort;
using internal::ParseInt;
using internal::Quote;
using internal::SplitCommaList;
using internal::Trim;

// strerror() is not thread-safe; the error category's message is.
std::string ErrnoText() {
  return std::generic_category().message(errno);
}

core::Error Invalid(std::string message) {
  return core::Error{ErrorCode::kInvalidRequest, std::move(message), {}};
}

tl::unexpected<core::Error> Bad(const std::string& where, const std::string& message) {
  return tl::unexpected(Invalid(where.empty() ? message : where + ": " + message));
}

// Where a setting came from, for error messages; e.g. "--store", "RUNVOY_STORE" or
// "config /etc/runvoy/server.yaml, line 3: store.provider".
using Origin = std::string;

// The settings being built, with the origin of the ones later checks need to name.
struct Builder {
  ServerConfig config;
  Origin store_origin, compute_origin, vault_origin;
  bool store_chosen = false;
  Origin tls_cert_origin = "tls.cert_file", tls_key_origin = "tls.key_file";
  Origin timeout_origin = "executions.default_timeout";
};

// Settings with one scalar value, shared by the three layers. Each returns a message without
// the origin; the caller prefixes it.
using Setter = Result<void> (*)(Builder& builder, const std::string& value, const Origin& origin);

Result<void> SetListen(Builder& b, const std::string& value, const Origin& origin) {
  const auto parsed = ParseHostPort(value);
  if (!parsed) {
    return Bad(origin, fmt::format("expected HOST:PORT, got {}", Quote(value)));
  }
  b.config.listen_host = parsed->host;
  b.config.listen_port = parsed->port;
  return {};
}

Result<void> SetDataDir(Builder& b, const std::string& value, const Origin& origin) {
  if (value.find('\0') != std::string::npos) {
    return Bad(origin, "invalid directory name");
  }
  b.config.data_dir = value;
  return {};
}

Result<void> SetStore(Builder& b, const std::string& value, const Origin& origin) {
  b.config.store_provider = value;
  b.store_origin = origin;
  b.store_chosen = true;
  return {};
}

Result<void> SetCompute(Builder& b, const std::string& value, const Origin& origin) {
  b.config.compute_provider = value;
  b.compute_origin = origin;
  return {};
}

Result<void> SetVault(Builder& b, const std::string& value, const Origin& origin) {
  b.config.vault_provider = value;
  b.vault_origin = origin;
  return {};
}

Result<void> SetSeedAdmin(Builder& b, const std::string& value, const Origin& origin) {
  const auto at = value.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == value.size() ||
      value.find_first_of(" \t\r\n") != std::string::npos) {
    return Bad(origin, fmt::format("expected an e-mail address, got {}", Quote(value)));
  }
  b.config.seed_admin = value;
  return {};
}

Result<void> SetSeedAdminKey(Builder& b, const std::string& value, const Origin& origin) {
  if (value.size() < 16 || value.find_first_of(" \t\r\n") != std::string::npos) {
    return Bad(origin, "expected an API key of at least 16 characters without spaces");
  }
  b.config.seed_admin_key = value;
  return {};
}

Result<void> SetMasterKey(Builder& b, const std::string& value, const Origin&) {
  b.config.master_key = value;  // the vault decodes and checks it; never echo it
  return {};
}

Result<void> SetMetrics(Builder& b, const std::string& value, const Origin& origin) {
  const auto parsed = ParseBool(value);
  if (!parsed) {
    return Bad(origin, fmt::format("expected on or off, got {}", Quote(value)));
  }
  b.config.metrics = *parsed;
  return {};
}

Result<void> SetMetricsToken(Builder& b, const std::string& value, const Origin& origin) {
  if (value.find_first_of(" \t\r\n") != std::string::npos) {
    return Bad(origin, "the token must not contain spaces");
  }
  b.config.metrics_token = value;
  return {};
}

Result<void> SetPublicUrl(Builder& b, const std::string& value, const Origin& origin) {
  if (!IsHttpUrl(value)) {
    return Bad(origin, fmt::format("expected an http:// or https:// URL, got {}", Quote(value)));
  }
  std::string url = value;
  while (url.size() > 1 && url.back() == '/') {
    url.pop_back();
  }
  b.config.public_url = url;
  return {};
}

Result<void> SetWebUrl(Builder& b, const std::string& value, const Origin& origin) {
  if (!IsHttpUrl(value)) {
    return Bad(origin, fmt::format("expected an http:// or https:// URL, got {}", Quote(value)));
  }
  b.config.web_url = value;
  return {};
}

Result<std::vector<std::string>> CheckOrigins(const std::vector<std::string>& origins,
                                              const Origin& origin) {
  for (const auto& item : origins) {
    if (item != "*" && !IsHttpUrl(item)) {
      return Bad(origin, fmt::format("expected \"*\" or an http:// or https:// origin, got {}",
                                     Quote(item)));
    }
  }
  return origins;
}

Result<void> SetCorsOrigins(Builder& b, const std::string& value, const Origin& origin) {
  auto origins = CheckOrigins(SplitCommaList(value), origin);
  if (!origins) {
    return tl::unexpected(origins.error());
  }
  b.config.cors_origins = std::move(*origins);
  return {};
}

Result<void> SetTrustedProxies(Builder& b, const std::string& value, const Origin& origin) {
  auto items = SplitCommaList(value);
  for (const auto& item : items) {
    if (!IsAddressOrCidr(item)) {
      return Bad(origin, fmt::format("expected an IP address or CIDR block, got {}", Quote(item)));
    }
  }
  b.config.trusted_proxies = std::move(items);
  return {};
}

Result<void> SetLogFormat(Builder& b, const std::string& value, const Origin& origin) {
  if (value != "text" && value != "json") {
    return Bad(origin, fmt::format("expected text or json, got {}", Quote(value)));
  }
  b.config.log_format = value;
  return {};
}

Result<void> SetLogLevel(Builder& b, const std::string& value, const Origin& origin) {
  constexpr std::array<std::string_view, 5> kLevels = {"trace", "debug", "info", "warn", "error"};
  if (std::find(kLevels.begin(), kLevels.end(), value) == kLevels.end()) {
    return Bad(origin,
               fmt::format("expected trace, debug, info, warn or error, got {}", Quote(value)));
  }
  b.config.log_level = value;
  return {};
}

Result<int64_t> PositiveBytes(const std::string& value, const Origin& origin) {
  const auto bytes = core::ParseByteCount(value);
  if (!bytes || *bytes <= 0) {
    return Bad(origin, fmt::format("expected a positive byte count like 1048576 or 1MiB, got {}",
                                   Quote(value)));
  }
  return *bytes;
}

Result<void> SetMaxBodyBytes(Builder& b, const std::string& value, const Origin& origin) {
  auto bytes = PositiveBytes(value, origin);
  if (!bytes) {
    return tl::unexpected(bytes.error());
  }
  b.config.max_body_bytes = static_cast<std::size_t>(*bytes);
  return {};
}

Result<void> SetImportMaxBytes(Builder& b, const std::string& value, const Origin& origin) {
  auto bytes = PositiveBytes(value, origin);
  if (!bytes) {
    return tl::unexpected(bytes.error());
  }
  b.config.import_max_bytes = static_cast<std::size_t>(*bytes);
  return {};
}

Result<void> SetOutputCapBytes(Builder& b, const std::string& value, const Origin& origin) {
  auto bytes = PositiveBytes(value, origin);
  if (!bytes) {
    return tl::unexpected(bytes.error());
  }
  b.config.output_cap_bytes = *bytes;
  return {};
}

Result<void> SetAuthFailureLimit(Builder& b, const std::string& value, const Origin& origin) {
  const auto number = ParseInt(value);
  if (!number || *number <= 0 || *number > std::numeric_limits<int>::max()) {
    return Bad(origin, fmt::format("expected a positive whole number, got {}", Quote(value)));
  }
  b.config.auth_failure_limit = static_cast<int>(*number);
  return {};
}

Result<std::chrono::milliseconds> Duration(const std::string& value, const Origin& origin,
                                           bool allow_zero) {
  const auto parsed = core::ParseDuration(value);
  if (!parsed || (!allow_zero && parsed->count() == 0)) {
    return Bad(origin, fmt::format("expected a {}duration like 90s, 10m or 1h, got {}",
                                   allow_zero ? "" : "positive ", Quote(value)));
  }
  return *parsed;
}

// Durations kept in whole seconds round sub-second parts up, so "1500ms" never becomes 1s.
Result<std::chrono::seconds> Seconds(const std::string& value, const Origin& origin) {
  auto parsed = Duration(value, origin, /*allow_zero=*/false);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  return std::chrono::ceil<std::chrono::seconds>(*parsed);
}

Result<void> SetDefaultTimeout(Builder& b, const std::string& value, const Origin& origin) {
  auto seconds = Seconds(value, origin);
  if (!seconds) {
    return tl::unexpected(seconds.error());
  }
  b.config.default_timeout = *seconds;
  b.timeout_origin = origin;
  return {};
}

Result<void> SetMaxTimeout(Builder& b, const std::string& value, const Origin& origin) {
  auto seconds = Seconds(value, origin);
  if (!seconds) {
    return tl::unexpected(seconds.error());
  }
  b.config.max_timeout = *seconds;
  return {};
}

Result<void> SetKillGrace(Builder& b, const std::string& value, const Origin& origin) {
  auto duration = Duration(value, origin, /*allow_zero=*/true);
  if (!duration) {
    return tl::unexpected(duration.error());
  }
  b.config.kill_grace = *duration;
  return {};
}

Result<void> SetReconcileInterval(Builder& b, const std::string& value, const Origin& origin) {
  auto seconds = Seconds(value, origin);
  if (!seconds) {
    return tl::unexpected(seconds.error());
  }
  b.config.reconcile_interval = *seconds;
  return {};
}

Result<void> SetNodeTimeout(Builder& b, const std::string& value, const Origin& origin) {
  auto seconds = Seconds(value, origin);
  if (!seconds) {
    return tl::unexpected(seconds.error());
  }
  b.config.node_timeout = *seconds;
  return {};
}

Result<void> SetReconcileStopOrphans(Builder& b, const std::string& value, const Origin& origin) {
  const auto parsed = ParseBool(value);
  if (!parsed) {
    return Bad(origin, fmt::format("expected true or false, got {}", Quote(value)));
  }
  b.config.reconcile_stop_orphans = *parsed;
  return {};
}

Result<void> SetNodeId(Builder& b, const std::string& value, const Origin& origin) {
  const bool valid =
      value.size() <= 64 && std::all_of(value.begin(), value.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
      });
  if (!valid) {
    return Bad(origin, fmt::format("expected up to 64 letters, digits, '-', '_' or '.', got {}",
                                   Quote(value)));
  }
  b.config.node_id = value;
  return {};
}

Result<void> SetTlsCert(Builder& b, const std::string& value, const Origin& origin) {
  b.config.tls_cert_file = value;
  b.tls_cert_origin = origin;
  return {};
}

Result<void> SetTlsKey(Builder& b, const std::string& value, const Origin& origin) {
  b.config.tls_key_file = value;
  b.tls_key_origin = origin;
  return {};
}

// Provider section values (flattened key → text), set per provider: "store.postgres" etc.
Result<void> SetProviderValue(Builder& b, const contract::Registry& registry, ProviderKind kind,
                              const std::string& provider, const std::string& key,
                              const std::string& value, const Origin& origin) {
  const std::string kind_name(contract::ProviderKindName(kind));
  const auto keys = registry.Keys(kind, provider);
  if (!keys) {
    return Bad(origin, fmt::format("unknown {} provider {} (known: {})", kind_name, Quote(provider),
                                   fmt::join(registry.Names(kind), ", ")));
  }
  if (std::find(keys->begin(), keys->end(), key) == keys->end()) {
    const std::string accepted =
        keys->empty() ? std::string("no keys") : fmt::format("{}", fmt::join(*keys, ", "));
    return Bad(origin, fmt::format("unknown key \"{}.{}.{}\" ({} provider {} accepts: {})",
                                   kind_name, provider, key, kind_name, Quote(provider), accepted));
  }
  b.config.provider_sections[kind_name + "." + provider][key] = value;
  return {};
}

// The YAML keys with one value (or a list), by level.
struct YamlSetting {
  std::string_view name;
  Setter set;
  bool list;  // a YAML list or one comma-separated value
};
using Level = std::span<const YamlSetting>;

constexpr std::array kTopSettings = {
    YamlSetting{"listen", SetListen, false},
    YamlSetting{"data_dir", SetDataDir, false},
    YamlSetting{"metrics", SetMetrics, false},
    YamlSetting{"public_url", SetPublicUrl, false},
    YamlSetting{"web_url", SetWebUrl, false},
    YamlSetting{"cors_origins", SetCorsOrigins, true},
    YamlSetting{"trusted_proxies", SetTrustedProxies, true},
    YamlSetting{"log_format", SetLogFormat, false},
    YamlSetting{"log_level", SetLogLevel, false},
    YamlSetting{"max_body_bytes", SetMaxBodyBytes, false},
    YamlSetting{"auth_failure_limit", SetAuthFailureLimit, false},
    YamlSetting{"reconcile_interval", SetReconcileInterval, false},
    YamlSetting{"node_timeout", SetNodeTimeout, false},
    YamlSetting{"reconcile_stop_orphans", SetReconcileStopOrphans, false},
    YamlSetting{"node_id", SetNodeId, false},
};
constexpr std::array kTlsSettings = {
    YamlSetting{"cert_file", SetTlsCert, false},
    YamlSetting{"key_file", SetTlsKey, false},
};
constexpr std::array kImageSettings = {
    YamlSetting{"import_max_bytes", SetImportMaxBytes, false},
};
constexpr std::array kExecutionSettings = {
    YamlSetting{"default_timeout", SetDefaultTimeout, false},
    YamlSetting{"max_timeout", SetMaxTimeout, false},
    YamlSetting{"kill_grace", SetKillGrace, false},
    YamlSetting{"output_cap_bytes", SetOutputCapBytes, false},
};

class YamlReader {
 public:
  YamlReader(Builder& builder, const contract::Registry& registry, std::string what)
      : b_(builder), registry_(registry), what_(std::move(what)) {}

  Result<void> Read(const YAML::Node& root) {
    if (root.IsNull()) {
      return {};
    }
    if (!root.IsMap()) {
      return tl::unexpected(
          internal::ErrorAt(what_, root, "expected a map of settings, got " + KindOf(root)));
    }
    return ReadMap(root, "", kTopSettings);
  }

 private:
  static std::string KindOf(const YAML::Node& node) { return internal::KindName(node); }

  Origin OriginOf(const YAML::Node& node, const std::string& key) const {
    const int line = internal::LineOf(node);
    return line == 0 ? fmt::format("config {}: {}", what_, key)
                     : fmt::format("config {}, line {}: {}", what_, line, key);
  }

  tl::unexpected<core::Error> Fail(const YAML::Node& node, const std::string& message) const {
    return tl::unexpected(internal::ErrorAt("config " + what_, node, message));
  }

  // Scalar text, or nullopt for `key:` with no value (= not set).
  Result<std::optional<std::string>> Scalar(const YAML::Node& node, const std::string& key) const {
    if (node.IsNull()) {
      return std::optional<std::string>();
    }
    if (!node.IsScalar()) {
      return Fail(node, fmt::format("{}: expected a value, got {}", key, KindOf(node)));
    }
    return std::optional<std::string>(node.Scalar());
  }

  // A list of values, or one comma-separated value.
  Result<std::optional<std::string>> List(const YAML::Node& node, const std::string& key) const {
    if (node.IsNull()) {
      return std::optional<std::string>();
    }
    if (node.IsScalar()) {
      return std::optional<std::string>(node.Scalar());
    }
    if (!node.IsSequence()) {
      return Fail(node, fmt::format("{}: expected a list, got {}", key, KindOf(node)));
    }
    std::string joined;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return Fail(item,
                    fmt::format("{}: expected a list of values, got {} in it", key, KindOf(item)));
      }
      if (item.Scalar().find(',') != std::string::npos) {
        return Fail(item, fmt::format("{}: unexpected ',' in {}", key, Quote(item.Scalar())));
      }
      if (!joined.empty()) {
        joined += ',';
      }
      joined += item.Scalar();
    }
    return std::optional<std::string>(joined);
  }

  // Iterates a map, rejecting duplicate and non-scalar keys.
  template <typename Visit>
  Result<void> ForEach(const YAML::Node& map, const std::string& prefix, Visit visit) const {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node& key_node = entry.first;
      if (!key_node.IsScalar()) {
        return Fail(key_node, "expected a key, got " + KindOf(key_node));
      }
      const std::string key = prefix + key_node.Scalar();
      if (!seen.insert(key_node.Scalar()).second) {
        return Fail(key_node, fmt::format("duplicate key {}", Quote(key)));
      }
      auto visited = visit(key_node, key_node.Scalar(), key, entry.second);
      if (!visited) {
        return visited;
      }
    }
    return {};
  }

  Result<void> ReadMap(const YAML::Node& map, const std::string& prefix, Level level) {
    return ForEach(map, prefix,
                   [&](const YAML::Node& key_node, const std::string& name, const std::string& key,
                       const YAML::Node& value) -> Result<void> {
                     for (const auto& setting : level) {
                       if (setting.name == name) {
                         return Apply(setting, key, value);
                       }
                     }
                     if (level.data() == kTopSettings.data()) {
                       return ReadNested(key_node, name, key, value);
                     }
                     return Fail(key_node, fmt::format("unknown key {}", Quote(key)));
                   });
  }

  Result<void> Apply(const YamlSetting& setting, const std::string& key, const YAML::Node& value) {
    auto text = setting.list ? List(value, key) : Scalar(value, key);
    if (!text) {
      return tl::unexpected(text.error());
    }
    if (!*text) {
      return {};
    }
    return setting.set(b_, **text, OriginOf(value, key));
  }

  // The top-level keys that hold a map: tls, executions and the provider kinds.
  Result<void> ReadNested(const YAML::Node& key_node, const std::string& name,
                          const std::string& key, const YAML::Node& value) {
    if (name == "store") {
      return ReadProviders(value, key, ProviderKind::kStore);
    }
    if (name == "compute") {
      return ReadProviders(value, key, ProviderKind::kCompute);
    }
    if (name == "vault") {
      return ReadProviders(value, key, ProviderKind::kVault);
    }
    if (name != "tls" && name != "executions" && name != "images") {
      return Fail(key_node, fmt::format("unknown key {}", Quote(key)));
    }
    if (value.IsNull()) {
      return {};
    }
    if (!value.IsMap()) {
      return Fail(value, fmt::format("{}: expected a map, got {}", key, KindOf(value)));
    }
    return ReadMap(value, key + ".",
                   name == "tls"      ? Level(kTlsSettings)
                   : name == "images" ? Level(kImageSettings)
                                      : Level(kExecutionSettings));
  }

  // store: {provider: NAME, NAME: {...}, OTHER: {...}}
  Result<void> ReadProviders(const YAML::Node& node, const std::string& key, ProviderKind kind) {
    if (node.IsNull()) {
      return {};
    }
    if (!node.IsMap()) {
      return Fail(node, fmt::format("{}: expected a map, got {}", key, KindOf(node)));
    }
    return ForEach(
        node, key + ".",
        [&](const YAML::Node& key_node, const std::string& name, const std::string& full_key,
            const YAML::Node& value) -> Result<void> {
          if (name == "provider") {
            auto text = Scalar(value, full_key);
            if (!text) {
              return tl::unexpected(text.error());
            }
            if (!*text) {
              return {};
            }
            const Origin origin = OriginOf(value, full_key);
            switch (kind) {
              case ProviderKind::kStore: return SetStore(b_, **text, origin);
              case ProviderKind::kCompute: return SetCompute(b_, **text, origin);
              case ProviderKind::kVault: return SetVault(b_, **text, origin);
            }
            return {};
          }
          if (!registry_.Keys(kind, name)) {
            return Fail(key_node, fmt::format("unknown key {} (no {} provider {}; known: {})",
                                              Quote(full_key), contract::ProviderKindName(kind),
                                              Quote(name), fmt::join(registry_.Names(kind), ", ")));
          }
          if (value.IsNull()) {
            return {};
          }
          if (!value.IsMap()) {
            return Fail(value, fmt::format("{}: expected a map, got {}", full_key, KindOf(value)));
          }
          return ReadSection(value, kind, name, "");
        });
  }

  // A provider's own section, flattened: nested maps become "a.b" keys, lists "x,y".
  Result<void> ReadSection(const YAML::Node& map, ProviderKind kind, const std::string& provider,
                           const std::string& prefix) {
    const std::string section = fmt::format("{}.{}.", contract::ProviderKindName(kind), provider);
    return ForEach(
        map, prefix,
        [&](const YAML::Node& key_node, const std::string&, const std::string& key,
            const YAML::Node& value) -> Result<void> {
          if (value.IsMap()) {
            return ReadSection(value, kind, provider, key + ".");
          }
          auto text = List(value, section + key);
          if (!text) {
            return tl::unexpected(text.error());
          }
          const std::string where =
              fmt::format("config {}, line {}", what_, internal::LineOf(key_node));
          auto set =
              SetProviderValue(b_, registry_, kind, provider, key, text->value_or(""), where);
          if (set && !*text) {  // `key:` with no value: known key, but not set
            b_.config.provider_sections[section.substr(0, section.size() - 1)].erase(key);
          }
          return set;
        });
  }

  Builder& b_;
  const contract::Registry& registry_;
  std::string what_;
};

Result<void> ReadConfigFile(Builder& b, const contract::Registry& registry, const std::string& path,
                            const Origin& origin) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return Bad(origin, fmt::format("no such file {}", Quote(path)));
  }
  if (std::filesystem::is_directory(status)) {
    return Bad(origin, fmt::format("{} is a directory, expected a YAML file", Quote(path)));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Bad(origin, fmt::format("cannot read {}: {}", Quote(path), ErrnoText()));
  }
  std::stringstream text;
  text << file.rdbuf();
  auto root = internal::LoadYaml("config " + path, text.str());
  if (!root) {
    return tl::unexpected(root.error());
  }
  b.config.config_file = path;
  try {
    return YamlReader(b, registry, path).Read(*root);
  } catch (const YAML::Exception& e) {  // not expected: the reader checks node types first
    return Bad("config " + path, e.msg);
  }
}

struct EnvSetting {
  const char* name;
  Setter set;
};

constexpr std::array<EnvSetting, 15> kEnvSettings = {{
    {"RUNVOY_LISTEN", SetListen},
    {"RUNVOY_DATA_DIR", SetDataDir},
    {"RUNVOY_STORE", SetStore},
    {"RUNVOY_COMPUTE", SetCompute},
    {"RUNVOY_SEED_ADMIN", SetSeedAdmin},
    {"RUNVOY_SEED_ADMIN_KEY", SetSeedAdminKey},
    {"RUNVOY_MASTER_KEY", SetMasterKey},
    {"RUNVOY_METRICS", SetMetrics},
    {"RUNVOY_METRICS_TOKEN", SetMetricsToken},
    {"RUNVOY_PUBLIC_URL", SetPublicUrl},
    {"RUNVOY_WEB_URL", SetWebUrl},
    {"RUNVOY_CORS_ORIGINS", SetCorsOrigins},
    {"RUNVOY_NODE_ID", SetNodeId},
    {"RUNVOY_LOG_LEVEL", SetLogLevel},
    {"RUNVOY_LOG_FORMAT", SetLogFormat},
}};

struct FlagSetting {
  const char* name;
  const char* value_name;
  const char* help;
  Setter set;  // nullptr for --config and --postgres-dsn, handled apart
};

constexpr std::array<FlagSetting, 8> kFlags = {{
    {"--config", "FILE", "YAML settings file (\"none\" = no file)", nullptr},
    {"--listen", "HOST:PORT", "address to listen on (port 0 = any free port)", SetListen},
    {"--data-dir", "DIR", "where the server keeps its data", SetDataDir},
    {"--store", "NAME", "store provider", SetStore},
    {"--postgres-dsn", "DSN", "PostgreSQL connection string (store.postgres.dsn)", nullptr},
    {"--compute", "NAME", "compute provider", SetCompute},
    {"--seed-admin", "EMAIL", "create this admin at start if missing", SetSeedAdmin},
    {"--metrics", "on|off", "serve /api/v1/metrics", SetMetrics},
}};

const FlagSetting* FindFlag(const std::string& name) {
  for (const auto& flag : kFlags) {
    if (name == flag.name) {
      return &flag;
    }
  }
  return nullptr;
}

std::string FlagNames() {
  std::vector<std::string> names;
  names.reserve(kFlags.size());
  for (const auto& flag : kFlags) {
    names.emplace_back(flag.name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

using FlagValues = std::vector<std::pair<const FlagSetting*, std::string>>;

Result<FlagValues> ParseFlags(const std::vector<std::string>& args) {
  FlagValues values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      return Bad("", fmt::format("unexpected argument {} (flags: {})", Quote(arg), FlagNames()));
    }
    const auto equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    const FlagSetting* flag = FindFlag(name);
    if (flag == nullptr) {
      return Bad("", fmt::format("unknown flag {} (flags: {})", Quote(name), FlagNames()));
    }
    std::string value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return Bad(name, fmt::format("missing value, expected {} {}", name, flag->value_name));
    }
    if (value.empty()) {
      return Bad(name, fmt::format("empty value, expected {}", flag->value_name));
    }
    values.emplace_back(flag, value);
  }
  return values;
}

std::optional<std::string> EnvValue(const std::map<std::string, std::string>& environment,
                                    const std::string& name) {
  const auto it = environment.find(name);
  if (it == environment.end() || it->second.empty()) {
    return std::nullopt;
  }
  return it->second;
}

// The YAML file to read and who named it: --config, else RUNVOY_CONFIG, else the default
// file when it exists; nullopt for none.
std::pair<std::optional<std::string>, Origin> ChooseConfigFile(
    const FlagValues& flags, const std::map<std::string, std::string>& environment,
    const std::string& default_config_file) {
  std::optional<std::string> config_file;
  Origin origin;
  if (auto env = EnvValue(environment, "RUNVOY_CONFIG")) {
    config_file = *env;
    origin = "RUNVOY_CONFIG";
  }
  for (const auto& [flag, value] : flags) {
    if (std::string_view(flag->name) == "--config") {
      config_file = value;
      origin = "--config";
    }
  }
  std::error_code ec;
  if (!config_file && !default_config_file.empty() &&
      std::filesystem::exists(default_config_file, ec)) {
    config_file = default_config_file;
    origin = "config";
  }
  return {config_file, origin};
}

Result<void> ApplyEnvironment(Builder& b, const contract::Registry& registry,
                              const std::map<std::string, std::string>& environment) {
  for (const auto& setting : kEnvSettings) {
    if (auto value = EnvValue(environment, setting.name)) {
      if (auto ok = setting.set(b, *value, setting.name); !ok) {
        return ok;
      }
    }
  }
  if (auto dsn = EnvValue(environment, "RUNVOY_POSTGRES_DSN")) {
    return SetProviderValue(b, registry, ProviderKind::kStore, "postgres", "dsn", *dsn,
                            "RUNVOY_POSTGRES_DSN");
  }
  return {};
}

Result<void> ApplyFlags(Builder& b, const contract::Registry& registry, const FlagValues& flags) {
  for (const auto& [flag, value] : flags) {
    const std::string name = flag->name;
    Result<void> ok;
    if (flag->set != nullptr) {
      ok = flag->set(b, value, name);
    } else if (name == "--postgres-dsn") {
      ok = SetProviderValue(b, registry, ProviderKind::kStore, "postgres", "dsn", value, name);
    }
    if (!ok) {
      return ok;
    }
  }
  return {};
}

Result<std::string> HomeDir(const std::map<std::string, std::string>& environment) {
  if (auto home = EnvValue(environment, "HOME")) {
    return *home;
  }
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr && found->pw_dir != nullptr && found->pw_dir[0] != '\0') {
    return std::string(found->pw_dir);
  }
  return Bad("data dir", "HOME is not set and the user has no home directory; give --data-dir");
}

Result<std::string> ResolveDataDir(const std::string& configured,
                                   const std::map<std::string, std::string>& environment) {
  std::string dir = configured;
  if (dir.empty()) {
    if (geteuid() == 0) {
      dir = "/var/lib/runvoy";
    } else {
      auto home = HomeDir(environment);
      if (!home) {
        return home;
      }
      dir = *home + "/.local/share/runvoy";
    }
  } else if (dir == "~" || dir.rfind("~/", 0) == 0) {
    auto home = HomeDir(environment);
    if (!home) {
      return home;
    }
    dir = *home + dir.substr(1);
  }
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(dir, ec);
  if (ec) {
    return Bad("data dir", fmt::format("cannot resolve {}: {}", Quote(dir), ec.message()));
  }
  std::string normal = path.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') {
    normal.pop_back();
  }
  return normal;
}

Result<void> CheckReadableFile(const std::string& path, const Origin& origin) {
  std::ifstream file(path, std::ios::binary);
  if (!file || std::filesystem::is_directory(path)) {
    return Bad(origin, fmt::format("cannot read {}", Quote(path)));
  }
  return {};
}

Result<void> CheckProvider(const contract::Registry& registry, ProviderKind kind,
                           const std::string& name, const Origin& origin) {
  if (registry.Keys(kind, name)) {
    return {};
  }
  return Bad(origin,
             fmt::format("unknown {} provider {} (known: {})", contract::ProviderKindName(kind),
                         Quote(name), fmt::join(registry.Names(kind), ", ")));
}

Result<void> Finish(Builder& b, const contract::Registry& registry,
                    const std::map<std::string, std::string>& environment) {
  ServerConfig& c = b.config;
  // A DSN with no store named means the user wants PostgreSQL, not a silent local SQLite.
  const auto postgres = c.provider_sections.find("store.postgres");
  if (!b.store_chosen && postgres != c.provider_sections.end() &&
      postgres->second.count("dsn") != 0 && !postgres->second.at("dsn").empty()) {
    c.store_provider = "postgres";
  }
  if (auto ok = CheckProvider(registry, ProviderKind::kStore, c.store_provider, b.store_origin);
      !ok) {
    return ok;
  }
  if (auto ok =
          CheckProvider(registry, ProviderKind::kCompute, c.compute_provider, b.compute_origin);
      !ok) {
    return ok;
  }
  if (auto ok = CheckProvider(registry, ProviderKind::kVault, c.vault_provider, b.vault_origin);
      !ok) {
    return ok;
  }
  if (c.default_timeout > c.max_timeout) {
    return Bad(b.timeout_origin,
               fmt::format("the default timeout ({}) is longer than executions.max_timeout ({})",
                           FormatDuration(c.default_timeout), FormatDuration(c.max_timeout)));
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Bad("", "tls.cert_file and tls.key_file must be set together");
  }
  if (!c.tls_cert_file.empty()) {
    if (auto ok = CheckReadableFile(c.tls_cert_file, b.tls_cert_origin); !ok) {
      return ok;
    }
    if (auto ok = CheckReadableFile(c.tls_key_file, b.tls_key_origin); !ok) {
      return ok;
    }
  }
  auto data_dir = ResolveDataDir(c.data_dir, environment);
  if (!data_dir) {
    return tl::unexpected(data_dir.error());
  }
  c.data_dir = *data_dir;
  if (c.store_provider == "sqlite") {
    auto& sqlite = c.provider_sections["store.sqlite"];
    if (sqlite["path"].empty()) {
      sqlite["path"] = c.data_dir + "/runvoy.db";
    }
  }
  return {};
}

}  // namespace

Result<ServerConfig> LoadServerConfig(const std::vector<std::string>& args,
                                      const std::map<std::string, std::string>& environment,
                                      const contract::Registry& registry,
                                      const std::string& default_config_file) {
  auto flags = ParseFlags(args);
  if (!flags) {
    return tl::unexpected(flags.error());
  }

  Builder b;
  const auto [config_file, config_origin] =
      ChooseConfigFile(*flags, environment, default_config_file);
  if (config_file && *config_file != "none") {
    if (auto ok = ReadConfigFile(b, registry, *config_file, config_origin); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (auto ok = ApplyEnvironment(b, registry, environment); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = ApplyFlags(b, registry, *flags); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = Finish(b, registry, environment); !ok) {
    return tl::unexpected(ok.error());
  }
  return std::move(b.config);
}

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
      continue;
    }
    environment.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return environment;
}

Result<void> PrepareDataDir(const std::string& dir) {
  if (dir.empty()) {
    return Bad("data dir", "no directory given");
  }
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(status)) {
    if (!std::filesystem::is_directory(status)) {
      return Bad("data dir", fmt::format("{} exists and is not a directory", Quote(dir)));
    }
  } else {
    // mkdir one level at a time so every directory we create gets 0700, without touching
    // the process-wide umask.
    std::filesystem::path partial;
    for (const auto& part : std::filesystem::path(dir)) {
      partial /= part;
      if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
        return Bad("data dir",
                   fmt::format("cannot create {}: {}", Quote(partial.string()), ErrnoText()));
      }
    }
    if (!std::filesystem::is_directory(dir, ec)) {
      return Bad("data dir", fmt::format("cannot create {}", Quote(dir)));
    }
  }
  // access() says yes to root on a read-only mount; creating a file is the real test.
  std::string probe = dir + "/.runvoy-write-test-XXXXXX";
  const int fd = mkstemp(probe.data());
  if (fd < 0) {
    return Bad("data dir", fmt::format("{} is not writable: {}", Quote(dir), ErrnoText()));
  }
  close(fd);
  unlink(probe.c_str());
  return {};
}

std::string ServerFlagsHelp() {
  std::string text;
  for (const auto& flag : kFlags) {
    text +=
        fmt::format("  {:<26}{}\n", fmt::format("{} {}", flag.name, flag.value_name), flag.help);
  }
  return text;
}

}  // namespace runvoy::config
