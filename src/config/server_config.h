#pragma once

// The settings of `runvoy server` (SPEC.md §3), built from flags, the environment and the
// YAML file, in that order of precedence, over the defaults below.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "contract/registry.h"
#include "core/error.h"

namespace runvoy::config {

using core::Result;

// Used when neither --config nor RUNVOY_CONFIG names a file and this one exists.
inline constexpr const char* kDefaultServerConfigFile = "/etc/runvoy/server.yaml";

struct ServerConfig {
  std::string config_file;  // the YAML file read; empty when none
  std::string listen_host = "127.0.0.1";
  int listen_port = 56212;  // 0 = any free port
  std::string data_dir;     // absolute
  std::string store_provider = "sqlite";
  std::string compute_provider = "local";
  std::string vault_provider = "local";
  // One entry per provider section, "kind.name" → flattened keys ("key" or "key.sub") →
  // scalar text, e.g. "store.sqlite" → {"path": ...}, "store.postgres" → {"dsn": ...},
  // "compute.local" → {"network": "none"}. Only keys the provider registered are present.
  // "store.sqlite"."path" defaults to <data_dir>/runvoy.db when sqlite is the store.
  std::map<std::string, std::map<std::string, std::string>> provider_sections;
  std::string seed_admin;      // e-mail; empty = none
  std::string seed_admin_key;  // empty = generate
  std::string master_key;      // base64, from RUNVOY_MASTER_KEY only
  bool metrics = false;
  std::string metrics_token;
  std::string public_url;  // no trailing '/'; empty = from the request's Host
  std::string web_url;     // empty = <public_url>/
  std::vector<std::string> cors_origins;
  std::vector<std::string> trusted_proxies;  // IP addresses or CIDR blocks
  std::string log_format = "text";           // text | json
  std::string log_level = "info";            // trace | debug | info | warn | error
  std::size_t max_body_bytes = 1048576;
  // images.import_max_bytes: the body limit of POST /images/import (image tarballs).
  std::size_t import_max_bytes = std::size_t{2} << 30;
  int auth_failure_limit = 30;  // failed authentications per minute per client IP
  std::string tls_cert_file;    // both set, or both empty
  std::string tls_key_file;
  std::chrono::seconds default_timeout{3600};
  std::chrono::seconds max_timeout{86400};
  std::chrono::milliseconds kill_grace{10000};
  int64_t output_cap_bytes = 104857600;
  std::chrono::seconds reconcile_interval{3600};
  std::chrono::seconds node_timeout{120};
  bool reconcile_stop_orphans = false;
  std::string node_id;  // empty = the server generates (and keeps) one
};

// Builds the configuration from `args` (the flags after `runvoy server`, e.g. {"--listen",
// "127.0.0.1:0"}; "--flag=value" works too), `environment` (RUNVOY_* variables; an empty
// value counts as unset) and the YAML file named by --config / RUNVOY_CONFIG, else
// `default_config_file` when it exists ("none" = no file).
//
// Provider names and provider section keys are checked against `registry`. A PostgreSQL DSN
// (--postgres-dsn, RUNVOY_POSTGRES_DSN or store.postgres.dsn) selects the "postgres" store
// when no store is named anywhere, rather than silently using a local SQLite file.
// Errors (all kInvalidRequest, one line saying what to fix): an unknown flag or YAML key, a
// bad value, an unknown provider, a section for a provider that is not registered, a named
// config file that does not exist or is not valid YAML (with the line number).
// Reads the file system (config file, TLS files, $HOME) but creates nothing.
Result<ServerConfig> LoadServerConfig(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& environment,
    const contract::Registry& registry,
    const std::string& default_config_file = kDefaultServerConfigFile);

// This process's environment variables (from `environ`).
std::map<std::string, std::string> CurrentEnvironment();

// Creates `dir` (and its parents) with mode 0700 when missing and checks that it is a
// writable directory. kInvalidRequest with a one-line message when not.
Result<void> PrepareDataDir(const std::string& dir);

// One line per flag, for `runvoy server --help`.
std::string ServerFlagsHelp();

}  // namespace runvoy::config
