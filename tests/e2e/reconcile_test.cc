// Reconcile through the real server and CLI (SPEC.md §2.9): things removed behind the server's
// back — a task, an execution record, a secret value, a user who owns things — are found by
// `POST /health/reconcile`, `runvoy health reconcile` and the periodic run.

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "support/runvoy_server.h"

namespace runvoy::testing {
namespace {

namespace json = boost::json;
using std::chrono::steady_clock;

// Runs `sql` on the server's SQLite database with the sqlite3 CLI, as an operator would.
std::string Sqlite(const RunvoyServer& server, const std::string& sql) {
  const ProcessResult result = RunProcess(
      {"/usr/bin/sqlite3", "-cmd", ".timeout 20000", server.data_dir() + "/runvoy.db", sql});
  EXPECT_EQ(result.exit_code, 0) << sql << ": " << result.err;
  return result.out;
}

std::string ExecutionDir(const RunvoyServer& server, const std::string& id) {
  return server.data_dir() + "/executions/" + id;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool ProcessAlive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

// Waits up to `limit` for `done`, checking every 50 ms.
template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

std::string Status(const RunvoyServer& server, const std::string& id) {
  const ApiResponse status =
      server.Call("GET", "/api/v1/executions/" + id + "/status", server.admin_key());
  if (status.status != 200)
    return "HTTP " + std::to_string(status.status);
  return std::string(status.json.at("status").as_string());
}

// Starts `command` as the admin and waits until it runs.
std::string StartRunning(const RunvoyServer& server, const std::string& command) {
  const ApiResponse run = server.Call("POST", "/api/v1/run", server.admin_key(),
                                      json::serialize(json::object{{"command", command}}));
  EXPECT_EQ(run.status, 202) << run.body;
  const std::string id(run.json.at("execution_id").as_string());
  EXPECT_TRUE(WaitFor([&] { return Status(server, id) == "RUNNING"; })) << Status(server, id);
  EXPECT_TRUE(WaitFor([&] { return Exists(ExecutionDir(server, id) + "/pid"); }));
  return id;
}

pid_t SupervisorPid(const RunvoyServer& server, const std::string& id) {
  const std::string text = ReadFile(ExecutionDir(server, id) + "/pid");
  return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
}

// `pid` and every process below it, read from /proc before anything is killed.
std::vector<pid_t> ProcessTree(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> parents;  // (pid, ppid)
  const ProcessResult ps = RunProcess({"/bin/ps", "-e", "-o", "pid=,ppid="});
  std::istringstream lines(ps.out);
  pid_t pid = 0;
  pid_t ppid = 0;
  while (lines >> pid >> ppid)
    parents.emplace_back(pid, ppid);
  std::vector<pid_t> tree = {root};
  for (std::size_t i = 0; i < tree.size(); ++i) {
    for (const auto& [child, parent] : parents) {
      if (parent == tree[i])
        tree.push_back(child);
    }
  }
  return tree;
}

// Removes a task behind the server's back: SIGKILL to its supervisor and everything under it,
// then its state directory.
void RemoveTask(const RunvoyServer& server, const std::string& id) {
  const pid_t supervisor = SupervisorPid(server, id);
  ASSERT_GT(supervisor, 1);
  for (pid_t pid : ProcessTree(supervisor))
    ::kill(pid, SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(supervisor); }));
  RunProcess({"/bin/rm", "-rf", ExecutionDir(server, id)});
}

json::object Reconcile(const RunvoyServer& server) {
  const ApiResponse reply = server.Call("POST", "/api/v1/health/reconcile", server.admin_key());
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json.at("status").as_string(), "ok");
  return reply.json.at("report").as_object();
}

// The issue about `resource_id` in `report`, or null.
json::value IssueFor(const json::object& report, const std::string& resource_type,
                     const std::string& resource_id) {
  for (const json::value& issue : report.at("issues").as_array()) {
    if (issue.at("resource_type").as_string() == resource_type &&
        issue.at("resource_id").as_string() == resource_id) {
      return issue;
    }
  }
  return nullptr;
}

std::vector<std::string> RunvoyLines(const RunvoyServer& server, const std::string& id) {
  const ApiResponse logs =
      server.Call("GET", "/api/v1/executions/" + id + "/logs", server.admin_key());
  std::vector<std::string> lines;
  if (logs.status != 200)
    return lines;
  for (const json::value& event : logs.json.at("events").as_array()) {
    if (event.at("stream").as_string() == "runvoy") {
      lines.emplace_back(event.at("message").as_string());
    }
  }
  return lines;
}

bool AnyContains(const std::vector<std::string>& lines, const std::string& part) {
  for (const std::string& line : lines) {
    if (line.find(part) != std::string::npos)
      return true;
  }
  return false;
}

// Puts a finished execution back to RUNNING in the store, as a store restored from a backup
// taken while it ran would have it: a record the provider has no task for and never tracked.
std::string RecordRunningWithoutTask(const RunvoyServer& server) {
  const ApiResponse run =
      server.Call("POST", "/api/v1/run", server.admin_key(), R"({"command":"echo done"})");
  EXPECT_EQ(run.status, 202) << run.body;
  const std::string id(run.json.at("execution_id").as_string());
  EXPECT_FALSE(server.WaitFinished(id, server.admin_key()).is_null());
  EXPECT_TRUE(WaitFor([&] { return !Exists(ExecutionDir(server, id)); }))
      << RunProcess({"/bin/ls", "-la", ExecutionDir(server, id)}).out << server.Stderr();
  Sqlite(server,
         "UPDATE executions SET status='RUNNING', exit_code=NULL, completed_at=NULL, "
         "finished_at=NULL WHERE execution_id='" +
             id + "'");
  EXPECT_EQ(Status(server, id), "RUNNING");
  return id;
}

std::string WriteConfig(const std::string& yaml) {
  const std::string path = MakeTempDir("runvoy-reconcile") + "/server.yaml";
  std::ofstream(path) << yaml;
  return path;
}

class ReconcileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new RunvoyServer({"--config", WriteConfig("reconcile_stop_orphans: false\n")});
    const ApiResponse image = server_->RegisterHostImage();
    ASSERT_EQ(image.status, 201) << image.body;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static RunvoyServer* server_;
};

RunvoyServer* ReconcileTest::server_ = nullptr;

TEST_F(ReconcileTest, TheReportHasTheShapeOfTheSpec) {
  const json::object report = Reconcile(*server_);
  EXPECT_TRUE(report.at("timestamp").is_string());
  const std::string timestamp(report.at("timestamp").as_string());
  EXPECT_GE(timestamp.size(), 20u) << timestamp;  // 2026-11-30T07:00:00[.123]Z
  EXPECT_EQ(timestamp[10], 'T') << timestamp;
  EXPECT_EQ(timestamp.back(), 'Z') << timestamp;
  EXPECT_EQ(report.at("compute_status").as_string(), "ok");
  EXPECT_EQ(report.at("secrets_status").as_string(), "ok");
  EXPECT_EQ(report.at("authorizer_status").as_string(), "ok");
  EXPECT_TRUE(report.at("issues").is_array());
  EXPECT_TRUE(report.at("reconciled_count").is_int64());
  EXPECT_TRUE(report.at("error_count").is_int64());
  for (const json::value& issue : report.at("issues").as_array()) {
    for (const char* key : {"resource_type", "resource_id", "severity", "message", "action"}) {
      EXPECT_TRUE(issue.at(key).is_string()) << key;
    }
  }
}

TEST_F(ReconcileTest, ATaskRemovedBehindTheServersBackEndsFailedWithALogLineSayingWhy) {
  const std::string id = StartRunning(*server_, "echo before; sleep 300");
  RemoveTask(*server_, id);
  // The provider's watcher or this reconcile notices first; either way the record ends FAILED.
  (void)Reconcile(*server_);
  const json::value final_state = server_->WaitFinished(id, server_->admin_key());
  ASSERT_FALSE(final_state.is_null());
  EXPECT_EQ(final_state.at("status").as_string(), "FAILED");
  const std::vector<std::string> lines = RunvoyLines(*server_, id);
  EXPECT_TRUE(AnyContains(lines, "supervisor of this execution died") ||
              AnyContains(lines, "the task is gone from the compute provider"))
      << "no runvoy line says why; runvoy lines: " << lines.size();
  // Nothing is left for a later reconcile to repair.
  const json::object again = Reconcile(*server_);
  EXPECT_TRUE(IssueFor(again, "execution", id).is_null());
  EXPECT_TRUE(IssueFor(again, "task", id).is_null());
}

TEST_F(ReconcileTest, ARunningRecordWhoseTaskIsGoneIsMarkedFailedWithALogLine) {
  const std::string id = RecordRunningWithoutTask(*server_);
  const json::object report = Reconcile(*server_);
  const json::value issue = IssueFor(report, "execution", id);
  ASSERT_FALSE(issue.is_null()) << json::serialize(report);
  EXPECT_EQ(issue.at("severity").as_string(), "error");
  EXPECT_EQ(issue.at("action").as_string(), "marked_failed");
  EXPECT_GE(report.at("reconciled_count").as_int64(), 1);
  EXPECT_GE(report.at("error_count").as_int64(), 1);
  EXPECT_EQ(Status(*server_, id), "FAILED");
  EXPECT_TRUE(AnyContains(RunvoyLines(*server_, id), "the task is gone from the compute provider"));
  // Repaired once: the next run has nothing to say about it.
  EXPECT_TRUE(IssueFor(Reconcile(*server_), "execution", id).is_null());
}

TEST_F(ReconcileTest, ATaskWhoseRecordWasDeletedIsReportedAndKeepsRunningByDefault) {
  const std::string id = StartRunning(*server_, "sleep 300");
  Sqlite(*server_, "DELETE FROM executions WHERE execution_id='" + id + "'");
  const json::object report = Reconcile(*server_);
  const json::value issue = IssueFor(report, "task", id);
  ASSERT_FALSE(issue.is_null()) << json::serialize(report);
  EXPECT_EQ(issue.at("severity").as_string(), "warning");
  EXPECT_EQ(issue.at("action").as_string(), "reported");
  const pid_t supervisor = SupervisorPid(*server_, id);
  EXPECT_TRUE(ProcessAlive(supervisor));
  // Cleaning up as an operator would once the report is read: the supervisor ends its task.
  ::kill(supervisor, SIGUSR1);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(supervisor); }));
}

TEST_F(ReconcileTest, ASecretWithoutItsValueIsReported) {
  const ApiResponse created =
      server_->Call("POST", "/api/v1/secrets", server_->admin_key(),
                    R"({"name":"lost-value","key_name":"LOST","value":"s3cret-value"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(IssueFor(Reconcile(*server_), "secret", "lost-value").is_null());
  Sqlite(*server_, "DELETE FROM blobs WHERE name='secret/lost-value'");
  const json::object report = Reconcile(*server_);
  const json::value issue = IssueFor(report, "secret", "lost-value");
  ASSERT_FALSE(issue.is_null()) << json::serialize(report);
  EXPECT_EQ(issue.at("severity").as_string(), "error");
  EXPECT_EQ(issue.at("action").as_string(), "reported");
  EXPECT_NE(issue.at("message").as_string().find("no stored value"), std::string::npos);
  EXPECT_EQ(json::serialize(report).find("s3cret-value"), std::string::npos);
}

TEST_F(ReconcileTest, AnImageTheProviderCannotUseIsReported) {
  const ApiResponse image = server_->Call("POST", "/api/v1/images/register", server_->admin_key(),
                                          R"({"image":"host","runtime_platform":"Linux/ARM64"})");
  ASSERT_EQ(image.status, 201) << image.body;
  const std::string image_id(image.json.at("image_id").as_string());
  const json::object report = Reconcile(*server_);
  const json::value issue = IssueFor(report, "image", image_id);
  ASSERT_FALSE(issue.is_null()) << json::serialize(report);
  EXPECT_EQ(issue.at("action").as_string(), "reported");
  EXPECT_NE(issue.at("message").as_string().find("cannot use"), std::string::npos);
  EXPECT_NE(issue.at("message").as_string().find("Linux/ARM64"), std::string::npos);
}

TEST_F(ReconcileTest, OwnershipRowsOfAUserWhoIsGoneAreReported) {
  const std::string operator_key = server_->CreateUser("gone-operator@example.com", "operator");
  const ApiResponse image = server_->Call("POST", "/api/v1/images/register", operator_key,
                                          R"({"image":"host","cpu":512})");
  ASSERT_EQ(image.status, 201) << image.body;
  const std::string image_id(image.json.at("image_id").as_string());
  const ApiResponse secret =
      server_->Call("POST", "/api/v1/secrets", operator_key,
                    R"({"name":"owned-by-gone","key_name":"GONE","value":"value-of-gone"})");
  ASSERT_EQ(secret.status, 201) << secret.body;
  EXPECT_TRUE(IssueFor(Reconcile(*server_), "ownership", "image:" + image_id).is_null());
  Sqlite(*server_, "DELETE FROM users WHERE email='gone-operator@example.com'");
  const json::object report = Reconcile(*server_);
  for (const std::string& resource : {"image:" + image_id, std::string("secret:owned-by-gone")}) {
    const json::value issue = IssueFor(report, "ownership", resource);
    ASSERT_FALSE(issue.is_null()) << resource << " in " << json::serialize(report);
    EXPECT_EQ(issue.at("action").as_string(), "reported");
    EXPECT_NE(issue.at("message").as_string().find("gone-operator@example.com"), std::string::npos);
  }
}

TEST_F(ReconcileTest, TheCliPrintsTheReportAsATableOrTheJsonBody) {
  const std::string id = RecordRunningWithoutTask(*server_);
  const ProcessResult text = server_->Cli({"health", "reconcile"}, server_->admin_key());
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.err.find("reconcile ok"), std::string::npos) << text.err;
  for (const char* part : {"compute_status", "secrets_status", "authorizer_status",
                           "reconciled_count", "error_count", "SEVERITY", "RESOURCE"}) {
    EXPECT_NE(text.out.find(part), std::string::npos) << part << " in\n" << text.out;
  }
  EXPECT_NE(text.out.find(id), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("marked_failed"), std::string::npos) << text.out;
  EXPECT_EQ(Status(*server_, id), "FAILED");

  const ProcessResult as_json =
      server_->Cli({"-o", "json", "health", "reconcile"}, server_->admin_key());
  EXPECT_EQ(as_json.exit_code, 0) << as_json.err;
  const json::value body = json::parse(as_json.out);
  EXPECT_EQ(body.at("status").as_string(), "ok");
  EXPECT_TRUE(body.at("report").at("issues").is_array());

  const std::string viewer = server_->CreateUser("reconcile-viewer@example.com", "viewer");
  const ProcessResult denied = server_->Cli({"health", "reconcile"}, viewer);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("✗"), std::string::npos) << denied.err;
}

TEST(ReconcileSettings, StopOrphansStopsATaskThatHasNoRecord) {
  RunvoyServer server({"--config", WriteConfig("reconcile_stop_orphans: true\n")});
  ASSERT_EQ(server.RegisterHostImage().status, 201);
  const std::string id = StartRunning(server, "sleep 300");
  const pid_t supervisor = SupervisorPid(server, id);
  Sqlite(server, "DELETE FROM executions WHERE execution_id='" + id + "'");
  const json::object report = Reconcile(server);
  const json::value issue = IssueFor(report, "task", id);
  ASSERT_FALSE(issue.is_null()) << json::serialize(report);
  EXPECT_EQ(issue.at("action").as_string(), "stopped");
  EXPECT_GE(report.at("reconciled_count").as_int64(), 1);
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(supervisor); })) << "the orphan still runs";
  EXPECT_TRUE(WaitFor([&] { return !Exists(ExecutionDir(server, id)); }))
      << RunProcess({"/bin/ls", "-la", ExecutionDir(server, id)}).out << server.Stderr();
  EXPECT_TRUE(IssueFor(Reconcile(server), "task", id).is_null());
}

TEST(ReconcileSettings, ThePeriodicRunRepairsWithoutBeingAsked) {
  RunvoyServer server({"--config", WriteConfig("reconcile_interval: 2s\n")});
  ASSERT_EQ(server.RegisterHostImage().status, 201);
  const std::string id = RecordRunningWithoutTask(server);
  EXPECT_TRUE(WaitFor([&] { return Status(server, id) == "FAILED"; })) << Status(server, id);
  EXPECT_TRUE(AnyContains(RunvoyLines(server, id), "the task is gone from the compute provider"));
  EXPECT_TRUE(WaitFor([&] { return server.Stderr().find("reconcile: ") != std::string::npos; }))
      << server.Stderr();
}

}  // namespace
}  // namespace runvoy::testing
