#include "support/postgres.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace runvoy::testing {
namespace {

// Databases made by FreshPostgresDatabase, dropped at exit.
class CreatedDatabases {
 public:
  CreatedDatabases() = default;
  CreatedDatabases(const CreatedDatabases&) = delete;
  CreatedDatabases& operator=(const CreatedDatabases&) = delete;
  CreatedDatabases(CreatedDatabases&&) = delete;
  CreatedDatabases& operator=(CreatedDatabases&&) = delete;
  void Add(const std::string& admin_dsn, const std::string& name) {
    std::scoped_lock lock(mutex_);
    created_.emplace_back(admin_dsn, name);
  }
  ~CreatedDatabases() {
    for (const auto& [admin_dsn, name] : created_) {
      PGconn* conn = PQconnectdb(admin_dsn.c_str());
      if (PQstatus(conn) == CONNECTION_OK) {
        char* quoted = PQescapeIdentifier(conn, name.c_str(), name.size());
        const std::string sql = "DROP DATABASE IF EXISTS " + std::string(quoted) + " WITH (FORCE)";
        PQfreemem(quoted);
        PQclear(PQexec(conn, sql.c_str()));
      }
      PQfinish(conn);
    }
  }

 private:
  std::mutex mutex_;  // guards created_
  std::vector<std::pair<std::string, std::string>> created_;
};

CreatedDatabases& Created() {
  static CreatedDatabases databases;
  return databases;
}

std::string Quote(const std::string& value) {
  std::string out = "'";
  for (const char ch : value) {
    if (ch == '\'' || ch == '\\') {
      out += '\\';
    }
    out += ch;
  }
  return out + "'";
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

std::string PostgresClusterDsn() {
  // Read-only use of the environment, which no test thread changes.
  const char* env = std::getenv("RUNVOY_TEST_POSTGRES_DSN");  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && *env != '\0') {
    return env;
  }
  std::ifstream file(RUNVOY_POSTGRES_DSN_FILE);
  std::string line;
  if (!file || !std::getline(file, line)) {
    return {};
  }
  return Trim(line);
}

std::string WithDatabase(const std::string& dsn, const std::string& dbname) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return {};
  }
  std::string out;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || std::string(option->keyword) == "dbname") {
      continue;
    }
    out += std::string(option->keyword) + "=" + Quote(option->val) + " ";
  }
  PQconninfoFree(options);
  return out + "dbname=" + Quote(dbname);
}

std::string FreshPostgresDatabase() {
  const std::string admin = PostgresClusterDsn();
  if (admin.empty()) {
    ADD_FAILURE() << "no PostgreSQL test cluster: run through ctest (fixture \"postgres\") or set "
                     "RUNVOY_TEST_POSTGRES_DSN";
    return {};
  }
  static std::atomic<int> counter{0};
  thread_local std::mt19937_64 random(std::random_device{}());
  const std::string name = "t_" + std::to_string(getpid()) + "_" +
                           std::to_string(counter.fetch_add(1)) + "_" +
                           std::to_string(random() % 1000000000);
  PGconn* conn = PQconnectdb(admin.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot reach the PostgreSQL test cluster: " << PQerrorMessage(conn);
    PQfinish(conn);
    return {};
  }
  // CREATE DATABASE takes no parameters; the name is ours and quoted as an identifier.
  char* quoted = PQescapeIdentifier(conn, name.c_str(), name.size());
  const std::string sql = "CREATE DATABASE " + std::string(quoted) + " TEMPLATE template0";
  PQfreemem(quoted);
  PGresult* result = PQexec(conn, sql.c_str());
  const bool created = PQresultStatus(result) == PGRES_COMMAND_OK;
  if (!created) {
    ADD_FAILURE() << "CREATE DATABASE failed: " << PQresultErrorMessage(result);
  }
  PQclear(result);
  PQfinish(conn);
  if (!created) {
    return {};
  }
  Created().Add(admin, name);
  return WithDatabase(admin, name);
}

PostgresCluster::PostgresCluster() {
  std::string pattern = "/tmp/runvoy-pg-state-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  state_dir_ = pattern;
  if (!Run("start")) {
    ADD_FAILURE() << "postgres_cluster.sh start failed";
    return;
  }
  std::ifstream file(state_dir_ + "/dsn");
  std::getline(file, dsn_);
  dsn_ = Trim(dsn_);
}

PostgresCluster::~PostgresCluster() {
  if (state_dir_.empty()) {
    return;
  }
  Run("stop");
  std::error_code ec;
  std::filesystem::remove_all(state_dir_, ec);
}

bool PostgresCluster::StopServer() {
  return Run("stop-server");
}

bool PostgresCluster::StartServer() {
  return Run("start-server");
}

bool PostgresCluster::Restart() {
  return Run("restart");
}

bool PostgresCluster::Run(const std::string& command) {
  std::string script = RUNVOY_POSTGRES_CLUSTER_SCRIPT;
  std::string shell = "/bin/bash";
  std::string verb = command;
  std::string state = state_dir_;
  std::array<char*, 5> argv = {shell.data(), script.data(), verb.data(), state.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // The script prints the DSN; the tests read it from the state directory.
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, shell.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace runvoy::testing
