// Secrets end to end (SPEC.md §2.6): the CLI's secrets commands against the real server,
// ownership, injection into runs, values kept out of every output, record and file, the master
// key, and `runvoy server rotate-key`.

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "common/http_client.h"
#include "core/sha256.h"
#include "support/runvoy_server.h"
#include "support/websocket_client.h"

namespace runvoy::testing {
namespace {

namespace json = boost::json;

std::string Body(const json::object& object) {
  return json::serialize(object);
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

int LineCount(const std::string& text) {
  int lines = 0;
  for (char c : text)
    lines += c == '\n' ? 1 : 0;
  return lines;
}

std::string RandomKey() {
  return common::Base64Encode(common::RandomBytes(32));
}

// A value no test output would contain by chance: 24 characters, so its base64 form has no
// padding and fits on one line of `base64`.
std::string RandomValue(const std::string& tag) {
  return tag + "-" + core::Sha256Hex(common::RandomBytes(16)).substr(0, 23 - tag.size());
}

// Every file under `dir`, read whole (the SQLite database, its WAL, logs, keys, ...).
std::map<std::string, std::string> FilesUnder(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files[entry.path().string()] = ReadFile(entry.path().string());
  }
  return files;
}

// `runvoy server` on `data_dir`, run to completion: for starts that must be refused and for
// the offline subcommands.
ProcessResult ServerProcess(const std::vector<std::string>& args, const std::string& data_dir,
                            std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {RunvoyBinary(), "server"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--data-dir", data_dir});
  env.emplace("RUNVOY_CONFIG", "none");
  env.emplace("RUNVOY_MASTER_KEY", "");  // unset unless given
  return RunProcess(argv, env);
}

ProcessResult RefusedStart(const std::string& data_dir, std::map<std::string, std::string> env) {
  return ServerProcess({"--listen", "127.0.0.1:0"}, data_dir, std::move(env));
}

// A server on an existing data directory with an environment of its own (RunvoyServer keeps
// the one it was made with). Stopped by PID when destroyed.
class ServerOnDataDir {
 public:
  ServerOnDataDir(const std::string& data_dir, std::map<std::string, std::string> env) {
    env.emplace("RUNVOY_CONFIG", "none");
    process_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{RunvoyBinary(), "server", "--listen", "127.0.0.1:0", "--data-dir",
                                 data_dir},
        env, data_dir + "/second-server.stderr");
    while (true) {
      const std::string line = process_->ReadLine(std::chrono::seconds(30));
      if (line.empty()) break;
      if (line.rfind("listening on ", 0) == 0) {
        base_url_ = line.substr(13);
        break;
      }
    }
  }
  ~ServerOnDataDir() { process_->Stop(SIGTERM); }

  bool listening() const { return !base_url_.empty(); }

  ApiResponse Get(const std::string& path, const std::string& key) const {
    common::HttpClient client;
    auto response =
        client.Request("GET", base_url_ + path, {{"X-API-Key", key}}, "", std::chrono::seconds(30));
    ApiResponse out;
    if (!response) return out;
    out.status = response->status;
    out.body = response->body;
    boost::system::error_code ec;
    out.json = json::parse(out.body, ec);
    if (ec) out.json = nullptr;
    return out;
  }

 private:
  std::unique_ptr<BackgroundProcess> process_;
  std::string base_url_;
};

class SecretsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new RunvoyServer();
    const auto image = server_->RegisterHostImage();
    ASSERT_EQ(image.status, 201) << image.body;
    developer_ = server_->CreateUser("dev@example.com", "developer");
    other_developer_ = server_->CreateUser("other@example.com", "developer");
    operator_ = server_->CreateUser("ops@example.com", "operator");
    viewer_ = server_->CreateUser("viewer@example.com", "viewer");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static ApiResponse Create(const std::string& key, const std::string& name,
                            const std::string& key_name, const std::string& value) {
    return server_->Call("POST", "/api/v1/secrets", key,
                         Body({{"name", name}, {"key_name", key_name}, {"value", value}}));
  }

  static json::object GetSecret(const std::string& key, const std::string& name) {
    const auto got = server_->Call("GET", "/api/v1/secrets/" + name, key);
    EXPECT_EQ(got.status, 200) << got.body;
    if (!got.json.is_object() || !got.json.as_object().contains("secret")) return {};
    return got.json.at("secret").as_object();
  }

  static std::vector<std::string> ListedNames(const std::string& key) {
    const auto listed = server_->Call("GET", "/api/v1/secrets", key);
    EXPECT_EQ(listed.status, 200) << listed.body;
    std::vector<std::string> names;
    for (const auto& secret : listed.json.at("secrets").as_array()) {
      names.emplace_back(secret.at("name").as_string());
    }
    return names;
  }

  static bool Listed(const std::string& key, const std::string& name) {
    const auto names = ListedNames(key);
    return std::find(names.begin(), names.end(), name) != names.end();
  }

  static RunvoyServer* server_;
  static std::string developer_;
  static std::string other_developer_;
  static std::string operator_;
  static std::string viewer_;
};

RunvoyServer* SecretsTest::server_ = nullptr;
std::string SecretsTest::developer_;
std::string SecretsTest::other_developer_;
std::string SecretsTest::operator_;
std::string SecretsTest::viewer_;

TEST_F(SecretsTest, CliCreatesListsGetsUpdatesAndDeletesASecret) {
  const std::string value = RandomValue("crud");
  const auto created = server_->Cli(
      {"secrets", "create", "crud-db", "DB_PASSWORD", value, "--description", "the database"},
      developer_);
  ASSERT_EQ(created.exit_code, 0) << created.err;

  const auto listed = server_->Cli({"-o", "json", "secrets", "list"}, developer_);
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out.find(value), std::string::npos);
  const json::value list = json::parse(listed.out);
  bool found = false;
  for (const auto& item : list.at("secrets").as_array()) {
    EXPECT_FALSE(item.as_object().contains("value")) << item;
    if (item.at("name") != "crud-db") continue;
    found = true;
    EXPECT_EQ(item.at("key_name"), "DB_PASSWORD");
    EXPECT_EQ(item.at("description"), "the database");
    EXPECT_EQ(item.at("created_by"), "dev@example.com");
    EXPECT_EQ(item.at("updated_by"), "dev@example.com");
    EXPECT_EQ(item.at("owned_by").as_array().size(), 1u);
    for (const char* field :
         {"created_at", "updated_at", "created_by_request_id", "modified_by_request_id"}) {
      EXPECT_TRUE(item.as_object().contains(field)) << field;
    }
  }
  EXPECT_TRUE(found) << listed.out;
  const auto table = server_->Cli({"secrets", "list"}, developer_);
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("crud-db"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find(value), std::string::npos);

  const auto got = server_->Cli({"-o", "json", "secrets", "get", "crud-db"}, developer_);
  ASSERT_EQ(got.exit_code, 0) << got.err;
  const json::value secret = json::parse(got.out).at("secret");
  EXPECT_EQ(secret.at("value"), value.c_str());
  EXPECT_EQ(secret.at("key_name"), "DB_PASSWORD");
  const auto got_text = server_->Cli({"secrets", "get", "crud-db"}, developer_);
  EXPECT_NE(got_text.out.find(value), std::string::npos) << got_text.out;

  // Absent fields are kept; so are empty ones sent through the API.
  const auto described =
      server_->Cli({"secrets", "update", "crud-db", "--description", "primary db"}, developer_);
  ASSERT_EQ(described.exit_code, 0) << described.err;
  auto after = GetSecret(developer_, "crud-db");
  EXPECT_EQ(after.at("description"), "primary db");
  EXPECT_EQ(after.at("key_name"), "DB_PASSWORD");
  EXPECT_EQ(after.at("value"), value.c_str());
  const auto empty = server_->Call("PUT", "/api/v1/secrets/crud-db", developer_,
                                   R"({"key_name":"","value":"","description":""})");
  EXPECT_EQ(empty.status, 200) << empty.body;
  after = GetSecret(developer_, "crud-db");
  EXPECT_EQ(after.at("description"), "primary db");
  EXPECT_EQ(after.at("key_name"), "DB_PASSWORD");
  EXPECT_EQ(after.at("value"), value.c_str());

  const std::string new_value = RandomValue("crud2");
  const auto changed = server_->Cli(
      {"secrets", "update", "crud-db", "--value", new_value, "--key-name", "PGPASSWORD"},
      developer_);
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  after = GetSecret(developer_, "crud-db");
  EXPECT_EQ(after.at("value"), new_value.c_str());
  EXPECT_EQ(after.at("key_name"), "PGPASSWORD");
  EXPECT_EQ(after.at("description"), "primary db");
  EXPECT_EQ(after.at("created_at"), secret.at("created_at"));

  const auto deleted = server_->Cli({"secrets", "delete", "crud-db"}, developer_);
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  const auto gone = server_->Call("GET", "/api/v1/secrets/crud-db", developer_);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.Code(), "SECRET_NOT_FOUND");
  const auto gone_cli = server_->Cli({"secrets", "get", "crud-db"}, developer_);
  EXPECT_EQ(gone_cli.exit_code, 1);
  EXPECT_EQ(LineCount(gone_cli.err), 1) << gone_cli.err;
  EXPECT_FALSE(Listed(developer_, "crud-db"));
}

TEST_F(SecretsTest, InvalidNamesKeyNamesAndValuesAre400AndCreateNothing) {
  struct Case {
    std::string name, key_name, value;
  };
  const std::vector<Case> cases = {
      {"", "KEY", "long-enough"},
      {"-leading-dash", "KEY", "long-enough"},
      {"has space", "KEY", "long-enough"},
      {"slash/inside", "KEY", "long-enough"},
      {std::string(129, 'a'), "KEY", "long-enough"},
      {"bad-key-1", "1STARTS_WITH_DIGIT", "long-enough"},
      {"bad-key-2", "HAS-DASH", "long-enough"},
      {"bad-key-3", "", "long-enough"},
      {"short-value", "KEY", "abc"},
      {"long-value", "KEY", std::string(64 * 1024 + 1, 'v')},
  };
  for (const Case& c : cases) {
    const auto created = Create(developer_, c.name, c.key_name, c.value);
    EXPECT_EQ(created.status, 400) << c.name.substr(0, 20) << " " << c.key_name;
    EXPECT_EQ(created.Code(), "INVALID_REQUEST") << created.body;
    EXPECT_EQ(created.body.find(c.value), std::string::npos);
  }
  for (const char* name : {"bad-key-1", "bad-key-2", "bad-key-3", "short-value", "long-value"}) {
    EXPECT_FALSE(Listed(server_->admin_key(), name)) << name;
  }
  EXPECT_EQ(Create(developer_, std::string(128, 'a'), "KEY", "four").status, 201);
  EXPECT_EQ(Create(developer_, "max-value", "KEY", std::string(64 * 1024, 'v')).status, 201);
  EXPECT_EQ(Create(developer_, "a", "_K9", "v4lu").status, 201);

  const auto cli = server_->Cli({"secrets", "create", "cli bad", "KEY", "long-enough"}, developer_);
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_EQ(LineCount(cli.err), 1) << cli.err;

  // An invalid update changes nothing.
  ASSERT_EQ(Create(developer_, "valid-one", "KEY_ONE", "first-value").status, 201);
  const auto bad_key = server_->Call("PUT", "/api/v1/secrets/valid-one", developer_,
                                     R"({"key_name":"9BAD","value":"second-value"})");
  EXPECT_EQ(bad_key.status, 400);
  const auto bad_value =
      server_->Call("PUT", "/api/v1/secrets/valid-one", developer_, R"({"value":"xyz"})");
  EXPECT_EQ(bad_value.status, 400);
  const auto kept = GetSecret(developer_, "valid-one");
  EXPECT_EQ(kept.at("key_name"), "KEY_ONE");
  EXPECT_EQ(kept.at("value"), "first-value");
}

TEST_F(SecretsTest, ADuplicateNameIs409AndLeavesTheExistingValueUntouched) {
  ASSERT_EQ(Create(developer_, "dup", "DUP_KEY", "original-value").status, 201);
  const auto again = Create(developer_, "dup", "OTHER_KEY", "replacement");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.Code(), "SECRET_ALREADY_EXISTS");
  const auto by_other = Create(other_developer_, "dup", "OTHER_KEY", "replacement");
  EXPECT_EQ(by_other.status, 409);
  const auto cli = server_->Cli({"secrets", "create", "dup", "X", "replacement"}, developer_);
  EXPECT_EQ(cli.exit_code, 1);
  const auto kept = GetSecret(developer_, "dup");
  EXPECT_EQ(kept.at("value"), "original-value");
  EXPECT_EQ(kept.at("key_name"), "DUP_KEY");
  EXPECT_EQ(kept.at("owned_by").as_array().size(), 1u);
  EXPECT_EQ(kept.at("owned_by").as_array()[0], "dev@example.com");
}

TEST_F(SecretsTest, UpdatingOrDeletingAMissingSecretIs404AndWritesNothing) {
  const auto updated = server_->Call("PUT", "/api/v1/secrets/never-made", developer_,
                                     R"({"key_name":"K","value":"a-value"})");
  EXPECT_EQ(updated.status, 404);
  EXPECT_EQ(updated.Code(), "SECRET_NOT_FOUND");
  const auto deleted = server_->Call("DELETE", "/api/v1/secrets/never-made", developer_);
  EXPECT_EQ(deleted.status, 404);
  EXPECT_EQ(deleted.Code(), "SECRET_NOT_FOUND");
  const auto cli =
      server_->Cli({"secrets", "update", "never-made", "--value", "v4lue"}, developer_);
  EXPECT_EQ(cli.exit_code, 1);
  const auto cli_delete = server_->Cli({"secrets", "delete", "never-made"}, developer_);
  EXPECT_EQ(cli_delete.exit_code, 1);
  const auto get = server_->Call("GET", "/api/v1/secrets/never-made", server_->admin_key());
  EXPECT_EQ(get.status, 404);
  EXPECT_FALSE(Listed(server_->admin_key(), "never-made"));
  // A run naming it is refused as an unknown secret: no value was left behind either.
  const auto run = server_->Call("POST", "/api/v1/run", server_->admin_key(),
                                 R"({"command":"true","secrets":["never-made"]})");
  EXPECT_EQ(run.status, 400) << run.body;
}

TEST_F(SecretsTest, ADevelopersSecretIsItsOwnWhileAdminsAndOperatorsReachAll) {
  ASSERT_EQ(Create(developer_, "dev-own", "OWN_TOKEN", "own-token-value").status, 201);

  for (const auto& [method, body] : std::vector<std::pair<std::string, std::string>>{
           {"GET", ""}, {"PUT", R"({"value":"stolen-value"})"}, {"DELETE", ""}}) {
    const auto call = server_->Call(method, "/api/v1/secrets/dev-own", other_developer_, body);
    EXPECT_EQ(call.status, 403) << method << " " << call.body;
    EXPECT_EQ(call.Code(), "FORBIDDEN");
    EXPECT_EQ(call.body.find("own-token-value"), std::string::npos);
  }
  EXPECT_FALSE(Listed(other_developer_, "dev-own"));
  const auto run = server_->Call("POST", "/api/v1/run", other_developer_,
                                 R"({"command":"echo $OWN_TOKEN","secrets":["dev-own"]})");
  EXPECT_EQ(run.status, 403) << run.body;
  const auto run_cli =
      server_->Cli({"run", "--secret", "dev-own", "echo $OWN_TOKEN"}, other_developer_);
  EXPECT_EQ(run_cli.exit_code, 125);
  EXPECT_EQ(run_cli.out.find("own-token-value"), std::string::npos);
  const auto viewer = server_->Call("GET", "/api/v1/secrets/dev-own", viewer_);
  EXPECT_EQ(viewer.status, 403);
  EXPECT_EQ(server_->Call("GET", "/api/v1/secrets", viewer_).status, 403);

  for (const std::string& key : {server_->admin_key(), operator_}) {
    EXPECT_TRUE(Listed(key, "dev-own"));
    EXPECT_EQ(GetSecret(key, "dev-own").at("value"), "own-token-value");
    const auto used =
        server_->Cli({"run", "--secret", "dev-own", "printf '%s\\n' \"${#OWN_TOKEN}\""}, key);
    EXPECT_EQ(used.exit_code, 0) << used.err;
    EXPECT_EQ(used.out, "15\n");
  }
  const auto operator_update = server_->Call("PUT", "/api/v1/secrets/dev-own", operator_,
                                             R"({"description":"seen by ops"})");
  EXPECT_EQ(operator_update.status, 200);
  EXPECT_TRUE(Listed(developer_, "dev-own"));  // still the developer's own
  EXPECT_EQ(server_->Call("DELETE", "/api/v1/secrets/dev-own", server_->admin_key()).status, 200);
  EXPECT_FALSE(Listed(developer_, "dev-own"));
}

TEST_F(SecretsTest, AnInjectedValueReachesTheCommandButNoOutputRecordOrFile) {
  const std::string value = RandomValue("inject");
  const std::string encoded = common::Base64Encode(value);
  const std::string digest = core::Sha256Hex(value);
  ASSERT_EQ(Create(developer_, "api-token", "API_TOKEN", value).status, 201);

  // The command proves it has the value (its hash) and tries to print it: whole, in base64,
  // and in two pieces written apart in time.
  const std::string command =
      "printf %s \"$API_TOKEN\" | sha256sum; echo \"whole:$API_TOKEN\"; "
      "printf %s \"$API_TOKEN\" | base64; echo \"err:$API_TOKEN\" >&2; "
      "printf %s \"${API_TOKEN%????}\"; sleep 0.2; printf '%s\\n' "
      "\"${API_TOKEN#${API_TOKEN%????}}\"";
  const auto run = server_->Cli({"run", "--secret", "api-token", command}, developer_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(digest), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("whole:***"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("err:***"), std::string::npos) << run.err;
  for (const std::string& text : {run.out, run.err}) {
    EXPECT_EQ(text.find(value), std::string::npos) << text;
    EXPECT_EQ(text.find(encoded), std::string::npos) << text;
  }

  // An explicit -e wins over the secret.
  const auto explicit_env = server_->Cli(
      {"run", "--secret", "api-token", "-e", "API_TOKEN=explicit", "echo \"k=$API_TOKEN\""},
      developer_);
  EXPECT_EQ(explicit_env.exit_code, 0) << explicit_env.err;
  EXPECT_EQ(explicit_env.out, "k=explicit\n");

  // The WebSocket stream of a run that prints the value while it is followed.
  const auto started = server_->Call(
      "POST", "/api/v1/run", developer_,
      Body({{"command", "sleep 0.3; " + command}, {"secrets", json::array{"api-token"}}}));
  ASSERT_EQ(started.status, 202) << started.body;
  const std::string id(started.json.at("execution_id").as_string());
  std::string streamed;
  {
    WebSocketClient socket(std::string(started.json.at("websocket_url").as_string()));
    while (true) {
      const std::string frame = socket.Read();
      streamed += frame + "\n";
      if (frame.find("\"disconnect\"") != std::string::npos) break;
    }
  }
  EXPECT_NE(streamed.find(digest), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("whole:***"), std::string::npos) << streamed;
  ASSERT_FALSE(server_->WaitFinished(id, developer_).is_null());

  const auto logs = server_->Call("GET", "/api/v1/executions/" + id + "/logs", developer_);
  ASSERT_EQ(logs.status, 200);
  EXPECT_NE(logs.body.find(digest), std::string::npos);
  const auto executions = server_->Call("GET", "/api/v1/executions?limit=0", server_->admin_key());
  ASSERT_EQ(executions.status, 200);
  bool recorded = false;
  for (const auto& execution : executions.json.as_array()) {
    if (execution.at("execution_id") != id.c_str()) continue;
    recorded = true;
    const auto& secrets = execution.at("request").at("secrets").as_array();
    ASSERT_EQ(secrets.size(), 1u);
    EXPECT_EQ(secrets[0], "api-token");
  }
  EXPECT_TRUE(recorded);
  const auto audit = server_->Call("GET", "/api/v1/audit?limit=1000", server_->admin_key());
  ASSERT_EQ(audit.status, 200) << audit.body;
  const auto trace =
      server_->Call("GET", "/api/v1/trace/" + std::string(started.headers.at("x-request-id")),
                    server_->admin_key());

  std::map<std::string, std::string> places = {
      {"CLI output", run.out + run.err},   {"WebSocket stream", streamed}, {"logs", logs.body},
      {"executions", executions.body},     {"audit", audit.body},          {"trace", trace.body},
      {"server stderr", server_->Stderr()}};
  for (const auto& [path, content] : FilesUnder(server_->data_dir()))
    places[path] = content;
  // The database and its write-ahead log are among the files read.
  const std::string db = server_->data_dir() + "/runvoy.db";
  EXPECT_TRUE(places.count(db)) << db;
  EXPECT_TRUE(places.count(db + "-wal")) << db << "-wal";
  for (const auto& [place, content] : places) {
    EXPECT_EQ(content.find(value), std::string::npos) << "the value is in " << place;
    EXPECT_EQ(content.find(encoded), std::string::npos) << "its base64 is in " << place;
  }
}

TEST_F(SecretsTest, TheMasterKeyFileIsCreatedReadableOnlyByTheOwner) {
  struct stat info {};
  ASSERT_EQ(stat((server_->data_dir() + "/master.key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(SecretsMasterKeyTest, AServerWithAnotherMasterKeyRefusesToStartWhileSecretsExist) {
  const std::string key = RandomKey();
  RunvoyServer server({}, {{"RUNVOY_MASTER_KEY", key}});
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() + "/master.key"));
  ASSERT_EQ(server
                .Call("POST", "/api/v1/secrets", server.admin_key(),
                      R"({"name":"kept","key_name":"KEPT","value":"kept-value"})")
                .status,
            201);
  ASSERT_EQ(server.Stop(SIGTERM), 0);

  const auto refused = RefusedStart(server.data_dir(), {{"RUNVOY_MASTER_KEY", RandomKey()}});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(LineCount(refused.err), 1) << refused.err;
  EXPECT_NE(refused.err.find("master key"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.out.find("listening"), std::string::npos);
  const auto bad = RefusedStart(server.data_dir(), {{"RUNVOY_MASTER_KEY", "not-base64-32"}});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(LineCount(bad.err), 1) << bad.err;

  ServerOnDataDir same(server.data_dir(), {{"RUNVOY_MASTER_KEY", key}});
  ASSERT_TRUE(same.listening());
  const auto kept = same.Get("/api/v1/secrets/kept", server.admin_key());
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(kept.json.at("secret").at("value"), "kept-value");
}

TEST(SecretsRotateKeyTest, ServerHelpListsRotateKey) {
  const auto help = RunProcess({RunvoyBinary(), "server", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("rotate-key"), std::string::npos) << help.out;
}

TEST(SecretsRotateKeyTest, RotateKeyReencryptsEverySecretUnderANewKeyFile) {
  RunvoyServer server;
  ASSERT_EQ(server
                .Call("POST", "/api/v1/images/register", server.admin_key(),
                      R"({"image":"host","is_default":true})")
                .status,
            201);
  std::map<std::string, std::string> values;
  for (const std::string name : {"one", "two", "three"}) {
    values[name] = RandomValue(name);
    ASSERT_EQ(
        server
            .Call("POST", "/api/v1/secrets", server.admin_key(),
                  Body({{"name", name}, {"key_name", "KEY_" + name}, {"value", values[name]}}))
            .status,
        201);
  }
  const std::string key_file = server.data_dir() + "/master.key";
  const std::string old_key = Trimmed(ReadFile(key_file));
  ASSERT_EQ(server.Stop(SIGTERM), 0);

  const auto rotated = ServerProcess({"rotate-key"}, server.data_dir());
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_TRUE(std::regex_match(
      rotated.out, std::regex("re-encrypted 3 secrets; new key fingerprint [0-9a-f]{12}\n")))
      << rotated.out;
  const std::string new_key = Trimmed(ReadFile(key_file));
  EXPECT_NE(new_key, old_key);
  EXPECT_EQ(common::Base64Decode(new_key)->size(), 32u);
  struct stat info {};
  ASSERT_EQ(stat(key_file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(key_file + ".new"));
  for (const auto& [path, content] : FilesUnder(server.data_dir())) {
    for (const auto& [name, value] : values) {
      EXPECT_EQ(content.find(value), std::string::npos) << name << " in " << path;
    }
  }

  // The old key no longer opens the store.
  const auto old = RefusedStart(server.data_dir(), {{"RUNVOY_MASTER_KEY", old_key}});
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_EQ(LineCount(old.err), 1) << old.err;
  EXPECT_NE(old.err.find("master key"), std::string::npos) << old.err;

  // The new key file does: every value reads back and is injected.
  server.Start();
  for (const auto& [name, value] : values) {
    const auto got = server.Call("GET", "/api/v1/secrets/" + name, server.admin_key());
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.json.at("secret").at("value"), value.c_str());
  }
  const auto run = server.Cli({"run", "--secret", "two", "printf %s \"$KEY_two\" | sha256sum"},
                              server.admin_key());
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(core::Sha256Hex(values["two"])), std::string::npos) << run.out;
  ASSERT_EQ(server.Stop(SIGTERM), 0);

  // Rotating again is a whole new rotation.
  const auto again = ServerProcess({"rotate-key"}, server.data_dir());
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("re-encrypted 3 secrets"), std::string::npos) << again.out;
  EXPECT_NE(Trimmed(ReadFile(key_file)), new_key);
  server.Start();
  const auto got = server.Call("GET", "/api/v1/secrets/one", server.admin_key());
  EXPECT_EQ(got.json.at("secret").at("value"), values["one"].c_str());
}

TEST(SecretsRotateKeyTest, WithKeysInTheEnvironmentTheNewKeyComesFromRunvoyNewMasterKey) {
  const std::string old_key = RandomKey();
  const std::string new_key = RandomKey();
  RunvoyServer server({}, {{"RUNVOY_MASTER_KEY", old_key}});
  for (const std::string name : {"alpha", "beta"}) {
    ASSERT_EQ(server
                  .Call("POST", "/api/v1/secrets", server.admin_key(),
                        Body({{"name", name}, {"key_name", "K"}, {"value", name + "-value"}}))
                  .status,
              201);
  }
  ASSERT_EQ(server.Stop(SIGTERM), 0);

  const auto without =
      ServerProcess({"rotate-key"}, server.data_dir(), {{"RUNVOY_MASTER_KEY", old_key}});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_EQ(LineCount(without.err), 1) << without.err;
  EXPECT_NE(without.err.find("RUNVOY_NEW_MASTER_KEY"), std::string::npos) << without.err;

  const auto wrong =
      ServerProcess({"rotate-key"}, server.data_dir(),
                    {{"RUNVOY_MASTER_KEY", RandomKey()}, {"RUNVOY_NEW_MASTER_KEY", new_key}});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(LineCount(wrong.err), 1) << wrong.err;

  const auto rotated =
      ServerProcess({"rotate-key"}, server.data_dir(),
                    {{"RUNVOY_MASTER_KEY", old_key}, {"RUNVOY_NEW_MASTER_KEY", new_key}});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("re-encrypted 2 secrets; new key fingerprint "), std::string::npos)
      << rotated.out;
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() + "/master.key"));
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() + "/master.key.new"));

  const auto old = RefusedStart(server.data_dir(), {{"RUNVOY_MASTER_KEY", old_key}});
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_EQ(LineCount(old.err), 1) << old.err;

  ServerOnDataDir with_new(server.data_dir(), {{"RUNVOY_MASTER_KEY", new_key}});
  ASSERT_TRUE(with_new.listening());
  for (const std::string name : {"alpha", "beta"}) {
    const auto got = with_new.Get("/api/v1/secrets/" + name, server.admin_key());
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.json.at("secret").at("value"), (name + "-value").c_str());
  }
}

}  // namespace
}  // namespace runvoy::testing
