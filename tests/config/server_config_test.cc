#include "config/server_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace runvoy::config {
namespace {

using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

contract::Registry TestRegistry() {
  contract::Registry registry;
  auto no_store = [](const contract::ProviderContext&) -> Result<std::unique_ptr<contract::Store>> {
    return core::Fail(core::ErrorCode::kInternal, "not built in unit tests");
  };
  auto no_compute =
      [](const contract::ProviderContext&) -> Result<std::unique_ptr<contract::ComputeProvider>> {
    return core::Fail(core::ErrorCode::kInternal, "not built in unit tests");
  };
  auto no_vault = [](const contract::ProviderContext&,
                     contract::Store&) -> Result<std::unique_ptr<contract::SecretVault>> {
    return core::Fail(core::ErrorCode::kInternal, "not built in unit tests");
  };
  registry.AddStore("sqlite", {"path"}, no_store);
  registry.AddStore("postgres", {"dsn", "pool_size"}, no_store);
  registry.AddCompute("local", {"network", "user", "image_cache_bytes", "limits.memory"},
                      no_compute);
  registry.AddCompute("docker", {"host", "network"}, no_compute);
  registry.AddVault("local", {"key_file"}, no_vault);
  return registry;
}

class ServerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "runvoy-config-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    env_ = {{"HOME", dir_ + "/home"}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // Loads with `yaml` as the config file (none when empty) and no default file.
  Result<ServerConfig> Load(const Args& args, const std::string& yaml = {}) {
    Env env = env_;
    if (!yaml.empty()) {
      env["RUNVOY_CONFIG"] = WriteFile("server.yaml", yaml);
    }
    return LoadServerConfig(args, env, registry_, dir_ + "/no-default.yaml");
  }

  // The message of the error Load() returns; fails the test when it succeeds.
  std::string LoadError(const Args& args, const std::string& yaml = {}) {
    auto config = Load(args, yaml);
    if (config) {
      ADD_FAILURE() << "expected an error";
      return {};
    }
    EXPECT_EQ(config.error().code, core::ErrorCode::kInvalidRequest);
    EXPECT_EQ(config.error().message.find('\n'), std::string::npos) << config.error().message;
    return config.error().message;
  }

  std::string dir_;
  Env env_;
  contract::Registry registry_ = TestRegistry();
};

TEST_F(ServerConfigTest, DefaultsApplyWhenNothingIsConfigured) {
  auto config = Load({});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->config_file, "");
  EXPECT_EQ(config->listen_host, "127.0.0.1");
  EXPECT_EQ(config->listen_port, 56212);
  const std::string expected_dir =
      geteuid() == 0 ? "/var/lib/runvoy" : dir_ + "/home/.local/share/runvoy";
  EXPECT_EQ(config->data_dir, expected_dir);
  EXPECT_EQ(config->store_provider, "sqlite");
  EXPECT_EQ(config->compute_provider, "local");
  EXPECT_EQ(config->vault_provider, "local");
  EXPECT_EQ(config->provider_sections["store.sqlite"]["path"], expected_dir + "/runvoy.db");
  EXPECT_FALSE(config->metrics);
  EXPECT_EQ(config->log_format, "text");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->max_body_bytes, 1048576u);
  EXPECT_EQ(config->auth_failure_limit, 30);
  EXPECT_EQ(config->default_timeout, std::chrono::hours(1));
  EXPECT_EQ(config->max_timeout, std::chrono::hours(24));
  EXPECT_EQ(config->kill_grace, std::chrono::seconds(10));
  EXPECT_EQ(config->output_cap_bytes, 104857600);
  EXPECT_EQ(config->reconcile_interval, std::chrono::hours(1));
  EXPECT_EQ(config->node_timeout, std::chrono::minutes(2));
  EXPECT_FALSE(config->reconcile_stop_orphans);
  EXPECT_TRUE(config->cors_origins.empty());
  EXPECT_TRUE(config->trusted_proxies.empty());
  EXPECT_EQ(config->node_id, "");
}

TEST_F(ServerConfigTest, YamlSetsEveryDocumentedKey) {
  const std::string cert = WriteFile("cert.pem", "cert");
  const std::string key = WriteFile("key.pem", "key");
  auto config = Load({}, R"(
listen: 0.0.0.0:8080
data_dir: )" + dir_ + R"(/data
store:
  provider: postgres
  sqlite:
    path: /tmp/other.db
  postgres:
    dsn: postgres://runvoy@db/runvoy
    pool_size: 8
compute:
  provider: docker
  local:
    network: host
    user: nobody
    image_cache_bytes: 10GiB
  docker:
    host: unix:///var/run/docker.sock
    network: none
vault:
  provider: local
  local:
    key_file: /etc/runvoy/master.key
metrics: on
public_url: https://runvoy.example.com/
web_url: https://viewer.example.com/
cors_origins: ["https://a.example.com", "*"]
trusted_proxies:
  - 10.0.0.1
  - 192.168.0.0/16
  - fd00::/8
log_format: json
log_level: debug
max_body_bytes: 2MiB
auth_failure_limit: 5
tls:
  cert_file: )" + cert + R"(
  key_file: )" + key + R"(
executions:
  default_timeout: 30m
  max_timeout: 2h
  kill_grace: 500ms
  output_cap_bytes: 1000
reconcile_interval: 10m
node_timeout: 45s
reconcile_stop_orphans: true
node_id: node-a
)");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->config_file, dir_ + "/server.yaml");
  EXPECT_EQ(config->listen_host, "0.0.0.0");
  EXPECT_EQ(config->listen_port, 8080);
  EXPECT_EQ(config->data_dir, dir_ + "/data");
  EXPECT_EQ(config->store_provider, "postgres");
  EXPECT_EQ(config->compute_provider, "docker");
  EXPECT_EQ(config->vault_provider, "local");
  EXPECT_EQ(config->provider_sections["store.sqlite"]["path"], "/tmp/other.db");
  EXPECT_EQ(config->provider_sections["store.postgres"]["dsn"], "postgres://runvoy@db/runvoy");
  EXPECT_EQ(config->provider_sections["store.postgres"]["pool_size"], "8");
  EXPECT_EQ(config->provider_sections["compute.local"]["network"], "host");
  EXPECT_EQ(config->provider_sections["compute.local"]["user"], "nobody");
  EXPECT_EQ(config->provider_sections["compute.local"]["image_cache_bytes"], "10GiB");
  EXPECT_EQ(config->provider_sections["compute.docker"]["host"], "unix:///var/run/docker.sock");
  EXPECT_EQ(config->provider_sections["vault.local"]["key_file"], "/etc/runvoy/master.key");
  EXPECT_TRUE(config->metrics);
  EXPECT_EQ(config->public_url, "https://runvoy.example.com");
  EXPECT_EQ(config->web_url, "https://viewer.example.com/");
  EXPECT_EQ(config->cors_origins, (Args{"https://a.example.com", "*"}));
  EXPECT_EQ(config->trusted_proxies, (Args{"10.0.0.1", "192.168.0.0/16", "fd00::/8"}));
  EXPECT_EQ(config->log_format, "json");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(config->auth_failure_limit, 5);
  EXPECT_EQ(config->tls_cert_file, cert);
  EXPECT_EQ(config->tls_key_file, key);
  EXPECT_EQ(config->default_timeout, std::chrono::minutes(30));
  EXPECT_EQ(config->max_timeout, std::chrono::hours(2));
  EXPECT_EQ(config->kill_grace, std::chrono::milliseconds(500));
  EXPECT_EQ(config->output_cap_bytes, 1000);
  EXPECT_EQ(config->reconcile_interval, std::chrono::minutes(10));
  EXPECT_EQ(config->node_timeout, std::chrono::seconds(45));
  EXPECT_TRUE(config->reconcile_stop_orphans);
  EXPECT_EQ(config->node_id, "node-a");
}

TEST_F(ServerConfigTest, EnvironmentBeatsYaml) {
  env_["RUNVOY_LISTEN"] = "127.0.0.1:9000";
  env_["RUNVOY_DATA_DIR"] = dir_ + "/from-env";
  env_["RUNVOY_METRICS"] = "off";
  env_["RUNVOY_CORS_ORIGINS"] = "https://x.example.com, https://y.example.com";
  env_["RUNVOY_PUBLIC_URL"] = "http://env.example.com";
  env_["RUNVOY_NODE_ID"] = "env-node";
  env_["RUNVOY_COMPUTE"] = "local";
  auto config = Load({}, R"(
listen: 0.0.0.0:8080
data_dir: /from/yaml
metrics: on
cors_origins: ["https://yaml.example.com"]
public_url: http://yaml.example.com
node_id: yaml-node
compute:
  provider: docker
log_level: warn
)");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_port, 9000);
  EXPECT_EQ(config->data_dir, dir_ + "/from-env");
  EXPECT_FALSE(config->metrics);
  EXPECT_EQ(config->cors_origins, (Args{"https://x.example.com", "https://y.example.com"}));
  EXPECT_EQ(config->public_url, "http://env.example.com");
  EXPECT_EQ(config->node_id, "env-node");
  EXPECT_EQ(config->compute_provider, "local");
  EXPECT_EQ(config->log_level, "warn");  // not set in the environment: the YAML value stays
}

TEST_F(ServerConfigTest, FlagsBeatEnvironmentAndYaml) {
  env_["RUNVOY_LISTEN"] = "127.0.0.1:9000";
  env_["RUNVOY_DATA_DIR"] = dir_ + "/from-env";
  env_["RUNVOY_STORE"] = "postgres";
  env_["RUNVOY_COMPUTE"] = "docker";
  env_["RUNVOY_METRICS"] = "on";
  env_["RUNVOY_SEED_ADMIN"] = "env@example.com";
  auto config =
      Load({"--listen", "127.0.0.1:0", "--data-dir", dir_ + "/from-flag", "--store", "sqlite",
            "--compute", "local", "--metrics", "off", "--seed-admin", "flag@example.com"},
           "listen: 0.0.0.0:8080\nmetrics: on\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_port, 0);
  EXPECT_EQ(config->data_dir, dir_ + "/from-flag");
  EXPECT_EQ(config->store_provider, "sqlite");
  EXPECT_EQ(config->compute_provider, "local");
  EXPECT_FALSE(config->metrics);
  EXPECT_EQ(config->seed_admin, "flag@example.com");
}

TEST_F(ServerConfigTest, FlagsAcceptTheEqualsForm) {
  auto config = Load({"--listen=[::1]:7000", "--metrics=on", "--compute=docker"});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_host, "::1");
  EXPECT_EQ(config->listen_port, 7000);
  EXPECT_TRUE(config->metrics);
  EXPECT_EQ(config->compute_provider, "docker");
}

TEST_F(ServerConfigTest, EnvironmentOnlySettingsAreRead) {
  env_["RUNVOY_SEED_ADMIN"] = "admin@example.com";
  env_["RUNVOY_SEED_ADMIN_KEY"] = "0123456789abcdef0123";
  env_["RUNVOY_MASTER_KEY"] = "bWFzdGVyLWtleQ==";
  env_["RUNVOY_METRICS_TOKEN"] = "scrape-me";
  env_["RUNVOY_WEB_URL"] = "https://web.example.com/";
  env_["RUNVOY_LOG_FORMAT"] = "json";
  auto config = Load({});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->seed_admin, "admin@example.com");
  EXPECT_EQ(config->seed_admin_key, "0123456789abcdef0123");
  EXPECT_EQ(config->master_key, "bWFzdGVyLWtleQ==");
  EXPECT_EQ(config->metrics_token, "scrape-me");
  EXPECT_EQ(config->web_url, "https://web.example.com/");
  EXPECT_EQ(config->log_format, "json");
}

TEST_F(ServerConfigTest, AnEmptyEnvironmentVariableCountsAsUnset) {
  env_["RUNVOY_LISTEN"] = "";
  env_["RUNVOY_CONFIG"] = "";
  auto config = Load({});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_port, 56212);
}

TEST_F(ServerConfigTest, PostgresDsnComesFromFlagOverEnvironmentOverYaml) {
  const std::string yaml = "store:\n  postgres:\n    dsn: postgres://yaml\n";
  auto from_yaml = Load({"--store", "postgres"}, yaml);
  ASSERT_TRUE(from_yaml) << from_yaml.error().message;
  EXPECT_EQ(from_yaml->provider_sections["store.postgres"]["dsn"], "postgres://yaml");

  env_["RUNVOY_POSTGRES_DSN"] = "postgres://env";
  auto from_env = Load({"--store", "postgres"}, yaml);
  ASSERT_TRUE(from_env) << from_env.error().message;
  EXPECT_EQ(from_env->provider_sections["store.postgres"]["dsn"], "postgres://env");

  auto from_flag = Load({"--store", "postgres", "--postgres-dsn", "postgres://flag"}, yaml);
  ASSERT_TRUE(from_flag) << from_flag.error().message;
  EXPECT_EQ(from_flag->provider_sections["store.postgres"]["dsn"], "postgres://flag");
}

TEST_F(ServerConfigTest, APostgresDsnSelectsPostgresUnlessAStoreIsNamed) {
  auto implied = Load({"--postgres-dsn", "postgres://db"});
  ASSERT_TRUE(implied) << implied.error().message;
  EXPECT_EQ(implied->store_provider, "postgres");

  auto named = Load({"--postgres-dsn", "postgres://db", "--store", "sqlite"});
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(named->store_provider, "sqlite");
}

TEST_F(ServerConfigTest, APostgresDsnWithoutAPostgresProviderIsAnError) {
  registry_ = contract::Registry();
  registry_.AddStore("sqlite", {"path"}, nullptr);
  registry_.AddCompute("local", {}, nullptr);
  registry_.AddVault("local", {"key_file"}, nullptr);
  env_["RUNVOY_POSTGRES_DSN"] = "postgres://db";
  EXPECT_EQ(LoadError({}),
            "RUNVOY_POSTGRES_DSN: unknown store provider \"postgres\" (known: sqlite)");
}

TEST_F(ServerConfigTest, TheDefaultFileIsReadWhenItExists) {
  const std::string path = WriteFile("default.yaml", "listen: 127.0.0.1:1234\n");
  auto config = LoadServerConfig({}, env_, registry_, path);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->config_file, path);
  EXPECT_EQ(config->listen_port, 1234);
}

TEST_F(ServerConfigTest, ConfigNoneSkipsTheDefaultFile) {
  const std::string path = WriteFile("default.yaml", "listen: 127.0.0.1:1234\n");
  auto by_flag = LoadServerConfig({"--config", "none"}, env_, registry_, path);
  ASSERT_TRUE(by_flag) << by_flag.error().message;
  EXPECT_EQ(by_flag->config_file, "");
  EXPECT_EQ(by_flag->listen_port, 56212);

  env_["RUNVOY_CONFIG"] = "none";
  auto by_env = LoadServerConfig({}, env_, registry_, path);
  ASSERT_TRUE(by_env) << by_env.error().message;
  EXPECT_EQ(by_env->listen_port, 56212);
}

TEST_F(ServerConfigTest, ConfigFlagBeatsConfigVariable) {
  env_["RUNVOY_CONFIG"] = WriteFile("env.yaml", "listen: 127.0.0.1:1111\n");
  const std::string flag_file = WriteFile("flag.yaml", "listen: 127.0.0.1:2222\n");
  auto config = LoadServerConfig({"--config", flag_file}, env_, registry_, "");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->config_file, flag_file);
  EXPECT_EQ(config->listen_port, 2222);
}

TEST_F(ServerConfigTest, ANamedConfigFileThatDoesNotExistIsAnError) {
  EXPECT_EQ(LoadError({"--config", dir_ + "/missing.yaml"}),
            "--config: no such file \"" + dir_ + "/missing.yaml\"");
  env_["RUNVOY_CONFIG"] = dir_ + "/missing.yaml";
  EXPECT_EQ(LoadError({}), "RUNVOY_CONFIG: no such file \"" + dir_ + "/missing.yaml\"");
}

TEST_F(ServerConfigTest, AnEmptyConfigFileIsFine) {
  env_["RUNVOY_CONFIG"] = WriteFile("empty.yaml", "# nothing yet\n");
  auto config = Load({});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_port, 56212);
}

TEST_F(ServerConfigTest, AnUnknownKeyIsAnErrorWithItsLine) {
  const std::string file = dir_ + "/server.yaml";
  EXPECT_EQ(LoadError({}, "log_level: info\nexecutions:\n  defualt_timeout: 1h\n"),
            "config " + file + ", line 3: unknown key \"executions.defualt_timeout\"");
  EXPECT_EQ(LoadError({}, "listen: 127.0.0.1:1\nlisen: 127.0.0.1:2\n"),
            "config " + file + ", line 2: unknown key \"lisen\"");
  EXPECT_EQ(LoadError({}, "tls:\n  cert: x\n"),
            "config " + file + ", line 2: unknown key \"tls.cert\"");
}

TEST_F(ServerConfigTest, InvalidYamlIsAnErrorWithItsLine) {
  const std::string message = LoadError({}, "listen: 127.0.0.1:1\nstore: [unclosed\n");
  EXPECT_THAT(message, HasSubstr("config " + dir_ + "/server.yaml, line "));
  EXPECT_THAT(message, HasSubstr("invalid YAML"));
}

TEST_F(ServerConfigTest, AConfigThatIsNotAMapIsAnError) {
  EXPECT_THAT(LoadError({}, "- a\n- b\n"), HasSubstr("expected a map of settings, got a list"));
}

TEST_F(ServerConfigTest, AValueOfTheWrongShapeIsAnError) {
  EXPECT_EQ(LoadError({}, "\nlisten:\n  - 127.0.0.1:1\n"),
            "config " + dir_ + "/server.yaml, line 3: listen: expected a value, got a list");
  EXPECT_THAT(LoadError({}, "executions: 5\n"),
              HasSubstr("executions: expected a map, got a value"));
  EXPECT_THAT(LoadError({}, "cors_origins:\n  a: b\n"), HasSubstr("cors_origins: expected a list"));
}

TEST_F(ServerConfigTest, ADuplicateKeyIsAnError) {
  EXPECT_THAT(LoadError({}, "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n"),
              HasSubstr("line 2: duplicate key \"listen\""));
}

TEST_F(ServerConfigTest, YamlValueErrorsNameTheFileLineAndKey) {
  EXPECT_EQ(LoadError({}, "log_level: info\nlisten: abc\n"),
            "config " + dir_ + "/server.yaml, line 2: listen: expected HOST:PORT, got \"abc\"");
}

TEST_F(ServerConfigTest, ABadListenAddressIsAnError) {
  EXPECT_EQ(LoadError({"--listen", "abc"}), "--listen: expected HOST:PORT, got \"abc\"");
  EXPECT_EQ(LoadError({"--listen", "127.0.0.1:70000"}),
            "--listen: expected HOST:PORT, got \"127.0.0.1:70000\"");
  EXPECT_EQ(LoadError({"--listen", ":80"}), "--listen: expected HOST:PORT, got \":80\"");
  EXPECT_EQ(LoadError({"--listen", "::1:80"}), "--listen: expected HOST:PORT, got \"::1:80\"");
  env_["RUNVOY_LISTEN"] = "127.0.0.1:x";
  EXPECT_EQ(LoadError({}), "RUNVOY_LISTEN: expected HOST:PORT, got \"127.0.0.1:x\"");
}

TEST_F(ServerConfigTest, AnUnknownProviderIsAnErrorListingTheKnownOnes) {
  EXPECT_EQ(LoadError({"--compute", "dockr"}),
            "--compute: unknown compute provider \"dockr\" (known: docker, local)");
  env_["RUNVOY_STORE"] = "mysql";
  EXPECT_EQ(LoadError({}),
            "RUNVOY_STORE: unknown store provider \"mysql\" (known: postgres, sqlite)");
  env_.erase("RUNVOY_STORE");
  EXPECT_EQ(
      LoadError({}, "vault:\n  provider: aws\n"),
      "config " + dir_ +
          "/server.yaml, line 2: vault.provider: unknown vault provider \"aws\" (known: local)");
}

TEST_F(ServerConfigTest, TheDefaultProviderMustBeRegistered) {
  registry_ = contract::Registry();
  registry_.AddStore("sqlite", {"path"}, nullptr);
  registry_.AddCompute("docker", {}, nullptr);
  registry_.AddVault("local", {}, nullptr);
  EXPECT_EQ(LoadError({}), "unknown compute provider \"local\" (known: docker)");
}

TEST_F(ServerConfigTest, ASectionForAnUnregisteredProviderIsAnError) {
  EXPECT_EQ(LoadError({}, "compute:\n  provider: local\n  kubernetes:\n    namespace: x\n"),
            "config " + dir_ +
                "/server.yaml, line 3: unknown key \"compute.kubernetes\" (no compute provider "
                "\"kubernetes\"; known: docker, local)");
}

TEST_F(ServerConfigTest, AKeyTheProviderDoesNotListIsAnError) {
  EXPECT_EQ(LoadError({}, "compute:\n  local:\n    network: none\n    netwrk: host\n"),
            "config " + dir_ +
                "/server.yaml, line 4: unknown key \"compute.local.netwrk\" (compute provider "
                "\"local\" accepts: network, user, image_cache_bytes, limits.memory)");
}

TEST_F(ServerConfigTest, NestedProviderSettingsAreFlattenedWithDots) {
  auto config = Load({}, "compute:\n  local:\n    limits:\n      memory: 1GiB\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->provider_sections["compute.local"]["limits.memory"], "1GiB");

  EXPECT_THAT(LoadError({}, "compute:\n  local:\n    limits:\n      cpu: 2\n"),
              HasSubstr("line 4: unknown key \"compute.local.limits.cpu\""));
}

TEST_F(ServerConfigTest, AProviderKeyWithNoValueIsLeftUnset) {
  auto config = Load({}, "compute:\n  local:\n    network:\n    user: nobody\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->provider_sections["compute.local"].count("network"), 0u);
  EXPECT_EQ(config->provider_sections["compute.local"]["user"], "nobody");
}

TEST_F(ServerConfigTest, AnUnknownFlagIsAnError) {
  EXPECT_THAT(LoadError({"--listn", "127.0.0.1:1"}), HasSubstr("unknown flag \"--listn\""));
  EXPECT_THAT(LoadError({"--listn=127.0.0.1:1"}), HasSubstr("unknown flag \"--listn\""));
  EXPECT_THAT(LoadError({"extra"}), HasSubstr("unexpected argument \"extra\""));
  EXPECT_EQ(LoadError({"--listen"}), "--listen: missing value, expected --listen HOST:PORT");
  EXPECT_EQ(LoadError({"--listen="}), "--listen: empty value, expected HOST:PORT");
}

TEST_F(ServerConfigTest, DurationsAcceptUnitsAndBareSeconds) {
  auto config = Load({}, R"(
executions:
  default_timeout: 90
  max_timeout: 1h30m
  kill_grace: 0
reconcile_interval: 1500ms
node_timeout: 1d
)");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->default_timeout, std::chrono::seconds(90));
  EXPECT_EQ(config->max_timeout, std::chrono::minutes(90));
  EXPECT_EQ(config->kill_grace, std::chrono::milliseconds(0));
  EXPECT_EQ(config->reconcile_interval, std::chrono::seconds(2));  // rounded up
  EXPECT_EQ(config->node_timeout, std::chrono::hours(24));
}

TEST_F(ServerConfigTest, ABadDurationIsAnError) {
  const std::string where = "config " + dir_ + "/server.yaml, line 2: ";
  EXPECT_EQ(LoadError({}, "executions:\n  default_timeout: 1x\n"),
            where +
                "executions.default_timeout: expected a positive duration like 90s, 10m or "
                "1h, got \"1x\"");
  EXPECT_THAT(LoadError({}, "executions:\n  max_timeout: -5s\n"),
              HasSubstr("executions.max_timeout: expected a positive duration"));
  EXPECT_THAT(LoadError({}, "node_timeout: 0s\n"),
              HasSubstr("node_timeout: expected a positive duration"));
  EXPECT_THAT(LoadError({}, "executions:\n  kill_grace: soon\n"),
              HasSubstr("executions.kill_grace: expected a duration"));
}

TEST_F(ServerConfigTest, ADefaultTimeoutLongerThanTheMaximumIsAnError) {
  EXPECT_THAT(LoadError({}, "executions:\n  default_timeout: 2h\n  max_timeout: 1h\n"),
              HasSubstr("the default timeout (2h) is longer than executions.max_timeout (1h)"));
  EXPECT_THAT(LoadError({}, "executions:\n  max_timeout: 30m\n"),
              HasSubstr("the default timeout (1h) is longer than executions.max_timeout (30m)"));
}

TEST_F(ServerConfigTest, ByteCountsAcceptUnits) {
  auto config = Load({}, "max_body_bytes: 512KiB\nexecutions:\n  output_cap_bytes: 1GB\n");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->max_body_bytes, 512u * 1024);
  EXPECT_EQ(config->output_cap_bytes, 1000LL * 1000 * 1000);
}

TEST_F(ServerConfigTest, ABadByteCountIsAnError) {
  EXPECT_THAT(LoadError({}, "max_body_bytes: -1\n"),
              HasSubstr("max_body_bytes: expected a positive byte count like 1048576 or 1MiB, "
                        "got \"-1\""));
  EXPECT_THAT(LoadError({}, "max_body_bytes: 0\n"), HasSubstr("expected a positive byte count"));
  EXPECT_THAT(LoadError({}, "executions:\n  output_cap_bytes: lots\n"),
              HasSubstr("executions.output_cap_bytes: expected a positive byte count"));
  EXPECT_THAT(LoadError({}, "max_body_bytes: 99999999999999999999\n"),
              HasSubstr("expected a positive byte count"));
}

TEST_F(ServerConfigTest, BadEnumeratedValuesAreErrors) {
  EXPECT_THAT(LoadError({}, "log_format: xml\n"),
              HasSubstr("log_format: expected text or json, got \"xml\""));
  EXPECT_THAT(LoadError({}, "log_level: verbose\n"),
              HasSubstr("log_level: expected trace, debug, info, warn or error, got \"verbose\""));
  EXPECT_EQ(LoadError({"--metrics", "maybe"}), "--metrics: expected on or off, got \"maybe\"");
  EXPECT_THAT(LoadError({}, "reconcile_stop_orphans: sometimes\n"),
              HasSubstr("reconcile_stop_orphans: expected true or false"));
}

TEST_F(ServerConfigTest, ANegativeOrZeroAuthFailureLimitIsAnError) {
  EXPECT_THAT(LoadError({}, "auth_failure_limit: -3\n"),
              HasSubstr("auth_failure_limit: expected a positive whole number, got \"-3\""));
  EXPECT_THAT(LoadError({}, "auth_failure_limit: 0\n"), HasSubstr("expected a positive"));
  EXPECT_THAT(LoadError({}, "auth_failure_limit: 2.5\n"), HasSubstr("expected a positive"));
}

TEST_F(ServerConfigTest, BadUrlsOriginsAndProxiesAreErrors) {
  EXPECT_THAT(LoadError({}, "public_url: runvoy.example.com\n"),
              HasSubstr("public_url: expected an http:// or https:// URL"));
  env_["RUNVOY_WEB_URL"] = "ftp://x";
  EXPECT_THAT(LoadError({}), HasSubstr("RUNVOY_WEB_URL: expected an http:// or https:// URL"));
  env_.erase("RUNVOY_WEB_URL");
  env_["RUNVOY_CORS_ORIGINS"] = "https://ok.example.com,example.com";
  EXPECT_EQ(LoadError({}),
            "RUNVOY_CORS_ORIGINS: expected \"*\" or an http:// or https:// origin, got "
            "\"example.com\"");
  env_.erase("RUNVOY_CORS_ORIGINS");
  EXPECT_THAT(LoadError({}, "trusted_proxies: [10.0.0.300]\n"),
              HasSubstr("trusted_proxies: expected an IP address or CIDR block, got "
                        "\"10.0.0.300\""));
  EXPECT_THAT(LoadError({}, "trusted_proxies: [10.0.0.0/33]\n"),
              HasSubstr("expected an IP address or CIDR block"));
}

TEST_F(ServerConfigTest, BadSeedAdminAndNodeIdAreErrors) {
  EXPECT_EQ(LoadError({"--seed-admin", "admin"}),
            "--seed-admin: expected an e-mail address, got \"admin\"");
  env_["RUNVOY_SEED_ADMIN_KEY"] = "short";
  EXPECT_THAT(LoadError({}), HasSubstr("RUNVOY_SEED_ADMIN_KEY: expected an API key"));
  env_.erase("RUNVOY_SEED_ADMIN_KEY");
  env_["RUNVOY_NODE_ID"] = "node a";
  EXPECT_THAT(LoadError({}), HasSubstr("RUNVOY_NODE_ID: expected up to 64 letters"));
}

TEST_F(ServerConfigTest, TlsNeedsBothReadableFiles) {
  const std::string cert = WriteFile("cert.pem", "cert");
  EXPECT_EQ(LoadError({}, "tls:\n  cert_file: " + cert + "\n"),
            "tls.cert_file and tls.key_file must be set together");
  EXPECT_EQ(
      LoadError({}, "tls:\n  cert_file: " + cert + "\n  key_file: " + dir_ + "/nokey\n"),
      "config " + dir_ + "/server.yaml, line 3: tls.key_file: cannot read \"" + dir_ + "/nokey\"");
}

TEST_F(ServerConfigTest, DataDirExpandsTildeAndBecomesAbsolute) {
  auto tilde = Load({"--data-dir", "~/runvoy-data/"});
  ASSERT_TRUE(tilde) << tilde.error().message;
  EXPECT_EQ(tilde->data_dir, dir_ + "/home/runvoy-data");

  auto relative = Load({"--data-dir", "rel/../data"});
  ASSERT_TRUE(relative) << relative.error().message;
  EXPECT_EQ(relative->data_dir, (std::filesystem::current_path() / "data").string());
  EXPECT_EQ(relative->provider_sections["store.sqlite"]["path"], relative->data_dir + "/runvoy.db");
}

TEST_F(ServerConfigTest, EveryErrorIsOneLine) {
  // LoadError() checks the code and that the message has no newline.
  LoadError({}, "listen: \"a\nb\"\n");
  LoadError({}, "store: {provider: \"x\ny\"}\n");
}

TEST(PrepareDataDir, CreatesMissingDirectoriesPrivately) {
  std::string pattern = (std::filesystem::temp_directory_path() / "runvoy-data-XXXXXX");
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::string dir = pattern + "/a/b";
  ASSERT_TRUE(PrepareDataDir(dir));
  struct stat info {};
  ASSERT_EQ(stat(dir.c_str(), &info), 0);
  EXPECT_TRUE(S_ISDIR(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((pattern + "/a").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::is_empty(dir));  // the write probe is gone
  EXPECT_TRUE(PrepareDataDir(dir));             // an existing directory is fine
  std::filesystem::remove_all(pattern);
}

TEST(PrepareDataDir, AFileInTheWayIsAnError) {
  std::string pattern = (std::filesystem::temp_directory_path() / "runvoy-data-XXXXXX");
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::string file = pattern + "/file";
  std::ofstream(file) << "x";
  auto result = PrepareDataDir(file);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(result.error().message, "data dir: \"" + file + "\" exists and is not a directory");
  auto below = PrepareDataDir(file + "/sub");
  ASSERT_FALSE(below);
  EXPECT_THAT(below.error().message, HasSubstr("cannot create"));
  std::filesystem::remove_all(pattern);
}

TEST(PrepareDataDir, ADirectoryThatCannotBeCreatedIsAnError) {
  auto result = PrepareDataDir("/proc/runvoy-cannot-exist/data");
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message,
              HasSubstr("data dir: cannot create \"/proc/runvoy-cannot-exist\""));
}

TEST(CurrentEnvironment, ReadsTheProcessEnvironment) {
  // This suite starts no threads, so changing the environment here is safe.
  ASSERT_EQ(setenv("RUNVOY_CONFIG_TEST_VALUE", "a=b", 1), 0);  // NOLINT(concurrency-mt-unsafe)
  const auto environment = CurrentEnvironment();
  ASSERT_EQ(environment.count("RUNVOY_CONFIG_TEST_VALUE"), 1u);
  EXPECT_EQ(environment.at("RUNVOY_CONFIG_TEST_VALUE"), "a=b");
  unsetenv("RUNVOY_CONFIG_TEST_VALUE");  // NOLINT(concurrency-mt-unsafe)
}

TEST(ServerFlagsHelp, ListsEveryFlag) {
  const std::string help = ServerFlagsHelp();
  for (const char* flag :
       {"--config FILE", "--listen HOST:PORT", "--data-dir DIR", "--store NAME",
        "--postgres-dsn DSN", "--compute NAME", "--seed-admin EMAIL", "--metrics on|off"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace runvoy::config
