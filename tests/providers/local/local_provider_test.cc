// Integration tests of the local sandbox: they start real supervisors (the fake runvoy binary)
// and sandboxes, so they need root, namespaces and cgroups.

#include "providers/local/local_provider.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract/compute.h"
#include "contract/registry.h"
#include "collecting_sink.h"

#ifndef RUNVOY_FAKE_SUPERVISOR
#error "RUNVOY_FAKE_SUPERVISOR must name the fake runvoy binary"
#endif

namespace runvoy::providers::local {
namespace {

using contract::TaskExit;
using namespace std::chrono_literals;

constexpr auto kDeadline = 20s;

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds deadline = kDeadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class LocalProviderTest : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "the local sandbox needs root";
    data_dir_ = testing::TempDir() + "runvoy-local-" + std::to_string(::getpid()) + "-" +
                testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(data_dir_);
    Register(registry_);
    provider_ = MakeProvider();
    ASSERT_NE(provider_, nullptr);
  }

  void TearDown() override {
    if (provider_ != nullptr) {
      // Leave no task behind: kill what still runs and wait for its supervisor to finish.
      for (const auto& id : started_)
        (void)provider_->Kill(id, contract::KillReason::kUser);
      for (const auto& id : started_)
        EXPECT_TRUE(sink_.WaitForExit(id)) << id;
      provider_.reset();
    }
    if (!data_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(data_dir_, ec);
    }
  }

  contract::ProviderContext Context(std::map<std::string, std::string> section = {}) {
    contract::ProviderContext context;
    context.data_dir = data_dir_;
    context.node_id = "test";
    context.runvoy_binary = RUNVOY_FAKE_SUPERVISOR;
    context.clock = &clock_;
    if (section.count("pids_limit") == 0)
      section["pids_limit"] = "64";
    context.section = std::move(section);
    return context;
  }

  std::unique_ptr<contract::ComputeProvider> MakeProvider(contract::EventSink* sink = nullptr) {
    auto provider = registry_.MakeCompute("local", Context());
    EXPECT_TRUE(provider.has_value()) << (provider ? "" : provider.error().message);
    if (!provider)
      return nullptr;
    (*provider)->SetEventSink(sink != nullptr ? *sink : sink_);
    return std::move(*provider);
  }

  contract::TaskSpec Spec(const std::string& command) {
    contract::TaskSpec spec;
    // Unique across test processes: cgroups are named after the execution, machine-wide.
    spec.execution_id = "exec-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_);
    spec.command = command;
    spec.image.reference = "host";
    spec.image.cpu = 1024;
    spec.image.memory_mb = 128;
    spec.timeout = 60s;
    spec.kill_grace = 2000ms;
    return spec;
  }

  std::string StartOk(const contract::TaskSpec& spec) {
    auto ref = provider_->Start(spec);
    EXPECT_TRUE(ref.has_value()) << (ref ? "" : ref.error().message);
    started_.push_back(spec.execution_id);
    return ref ? *ref : std::string();
  }

  // Runs `spec` to the end and returns what the sink saw.
  CollectingSink::Execution Run(const contract::TaskSpec& spec) {
    StartOk(spec);
    EXPECT_TRUE(sink_.WaitForExit(spec.execution_id)) << "no exit for " << spec.command;
    auto e = sink_.Get(spec.execution_id);
    EXPECT_TRUE(e.violations.empty()) << e.violations.front();
    return e;
  }
  CollectingSink::Execution Run(const std::string& command) { return Run(Spec(command)); }

  core::WallClock clock_;
  contract::Registry registry_;
  CollectingSink sink_;
  std::string data_dir_;
  std::unique_ptr<contract::ComputeProvider> provider_;
  std::vector<std::string> started_;
  int counter_ = 0;
};

TEST_F(LocalProviderTest, DescribesItself) {
  EXPECT_EQ(provider_->Name(), "local");
  EXPECT_TRUE(provider_->Describe().survives_server_restart);
}

TEST_F(LocalProviderTest, RunsACommandAndReportsStdoutAndStderrInOrder) {
  auto spec = Spec("echo out1; echo err1 >&2; echo out2; echo err2 >&2");
  spec.banner = {"### runvoy: request r1", "### runvoy: command"};
  auto e = Run(spec);
  EXPECT_EQ(e.started, 1);
  EXPECT_EQ(e.exits, 1);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited);
  EXPECT_EQ(e.exit->exit_code, 0);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"out1", "out2"}));
  EXPECT_EQ(Lines(e, core::LogStream::kStderr), (std::vector<std::string>{"err1", "err2"}));
  ASSERT_GE(e.events.size(), 6u);
  EXPECT_EQ(e.events[0].stream, core::LogStream::kRunvoy);
  EXPECT_EQ(e.events[0].message, "### runvoy: request r1");
  EXPECT_EQ(e.events[1].message, "### runvoy: command");
  for (size_t i = 0; i < e.events.size(); ++i) {
    EXPECT_EQ(e.events[i].sequence, static_cast<int64_t>(i + 1));
    EXPECT_GT(e.events[i].timestamp_ms, 1600000000000);
  }
}

TEST_F(LocalProviderTest, ReportsTheCommandsExitCode) {
  auto e = Run("exit 3");
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited);
  EXPECT_EQ(e.exit->exit_code, 3);
}

TEST_F(LocalProviderTest, SetsTheEnvironmentAndWorkingDirectory) {
  auto spec = Spec("echo \"$HOME|$RUNVOY_EXECUTION_ID|$A|$TOKEN|$RUNVOY_COMMAND\"; pwd");
  spec.env = {{"A", "from-env"}, {"TOKEN", "env-wins"}};
  spec.secrets = {{"tok", "TOKEN", "from-secret"}};
  auto e = Run(spec);
  const auto out = Lines(e, core::LogStream::kStdout);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "/workspace|" + spec.execution_id + "|from-env|env-wins|" + spec.command);
  EXPECT_EQ(out[1], "/workspace");
}

TEST_F(LocalProviderTest, KillEndsTheTaskAsKilledByUser) {
  auto spec = Spec("echo ready; sleep 100");
  StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "ready"));
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser).has_value());
  ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  EXPECT_EQ(sink_.Get(spec.execution_id).exit->cause, TaskExit::Cause::kKilledByUser);
  // Idempotent: killing a finished or unknown task is fine.
  EXPECT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser).has_value());
  EXPECT_TRUE(provider_->Kill("unknown", contract::KillReason::kUser).has_value());
}

TEST_F(LocalProviderTest, KillEscalatesToSigkillWhenTheCommandIgnoresSigterm) {
  auto spec = Spec("trap '' TERM; echo ready; while :; do sleep 1; done");
  spec.kill_grace = 200ms;
  StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "ready"));
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser).has_value());
  ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  EXPECT_EQ(sink_.Get(spec.execution_id).exit->cause, TaskExit::Cause::kKilledByUser);
}

TEST_F(LocalProviderTest, AUserKillWinsWhateverTheCommandThenDoes) {
  auto spec = Spec("trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done");
  StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "ready"));
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser).has_value());
  ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  auto e = sink_.Get(spec.execution_id);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kKilledByUser);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout).back(), "bye");
}

TEST_F(LocalProviderTest, KillWhileStartingWorks) {
  auto spec = Spec("echo should-not-matter; sleep 100");
  StartOk(spec);
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kUser).has_value());
  ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  EXPECT_EQ(sink_.Get(spec.execution_id).exit->cause, TaskExit::Cause::kKilledByUser);
}

TEST_F(LocalProviderTest, TheTimeoutEndsTheTaskAsTimedOut) {
  auto spec = Spec("echo started; sleep 100");
  spec.timeout = 1s;
  spec.kill_grace = 200ms;
  const auto begin = std::chrono::steady_clock::now();
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kTimedOut);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 10s);
}

TEST_F(LocalProviderTest, ASelfInflictedSigkillIsReportedAsSignaled) {
  auto e = Run("kill -9 $$");
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kSignaled);
  EXPECT_EQ(e.exit->signal, 9);
}

TEST_F(LocalProviderTest, AForkBombIsStoppedByThePidsLimit) {
  auto e = Run("bomb() { bomb | bomb & }; bomb; wait; sleep 30");
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kSignaled);
  EXPECT_EQ(e.exit->signal, 9);
  // The host still forks.
  EXPECT_EQ(std::system("true"), 0);
}

TEST_F(LocalProviderTest, AMemoryHogIsKilledByTheMemoryLimit) {
  auto spec = Spec("head -c 400000000 /dev/zero | tail -c 300000000 >/dev/null; echo survived");
  spec.image.memory_mb = 32;
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kSignaled);
  EXPECT_EQ(e.exit->signal, 9);
}

TEST_F(LocalProviderTest, SeesOnlyItsOwnProcesses) {
  auto e = Run("ps -e -o pid= -o comm=");
  const auto out = Lines(e, core::LogStream::kStdout);
  // The namespace's init, the shell and ps.
  EXPECT_LE(out.size(), 3u) << testing::PrintToString(out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].substr(out[0].find_first_not_of(' '), 2), "1 ");
}

TEST_F(LocalProviderTest, HasOnlyTheLoopbackNetworkInterfaceAndItIsUp) {
  auto e = Run("ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags");
  const auto out = Lines(e, core::LogStream::kStdout);
  ASSERT_GE(out.size(), 1u);
  EXPECT_EQ(out[0], "lo");
  ASSERT_EQ(out.size(), 3u) << testing::PrintToString(out);
  // IFF_UP is bit 0 of the flags.
  EXPECT_EQ(std::stoi(out[2], nullptr, 16) & 1, 1);
}

TEST_F(LocalProviderTest, HidesRootHomeAndTheDataDirectory) {
  auto e = Run("for p in /root /home /run " + data_dir_ +
               " /etc/shadow; do if [ -e $p ] && [ -s $p -o -d $p ]; then echo visible $p; "
               "else echo hidden $p; fi; done; ls -A /etc/ssh | wc -l");
  const auto out = Lines(e, core::LogStream::kStdout);
  EXPECT_EQ(out, (std::vector<std::string>{"hidden /root", "hidden /home", "hidden /run",
                                           "hidden " + data_dir_, "hidden /etc/shadow", "0"}));
}

TEST_F(LocalProviderTest, HidesADataDirectoryInsideABoundHostDirectory) {
  const std::string inside = "/opt/runvoy-local-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(inside);
  {
    auto context = Context();
    context.data_dir = inside;
    auto provider = registry_.MakeCompute("local", context);
    ASSERT_TRUE(provider.has_value());
    CollectingSink sink;
    (*provider)->SetEventSink(sink);
    auto spec = Spec("ls -A " + inside + " | wc -l; ls /opt | grep -c runvoy-local-test");
    ASSERT_TRUE((*provider)->Start(spec).has_value());
    ASSERT_TRUE(sink.WaitForExit(spec.execution_id));
    // The directory may exist as a mount point, but shows nothing of the executions.
    EXPECT_EQ(Lines(sink.Get(spec.execution_id), core::LogStream::kStdout)[0], "0");
  }
  std::filesystem::remove_all(inside);
}

TEST_F(LocalProviderTest, WritesOnlySucceedInWorkspaceAndTmp) {
  auto e =
      Run("for p in /x /etc/x /usr/x /dev/x /workspace/x /tmp/x; do "
          "if touch $p 2>/dev/null; then echo ok $p; else echo denied $p; fi; done");
  EXPECT_EQ(Lines(e, core::LogStream::kStdout),
            (std::vector<std::string>{"denied /x", "denied /etc/x", "denied /usr/x",
                                      "denied /dev/x", "ok /workspace/x", "ok /tmp/x"}));
}

TEST_F(LocalProviderTest, RunsAsNobodyWithoutCapabilities) {
  auto e = Run("id -un; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; hostname");
  const auto out = Lines(e, core::LogStream::kStdout);
  ASSERT_EQ(out.size(), 5u) << testing::PrintToString(out);
  EXPECT_EQ(out[0], "nobody");
  EXPECT_EQ(out[1], "CapEff:\t0000000000000000");
  EXPECT_EQ(out[2], "CapBnd:\t0000000000000000");
  EXPECT_EQ(out[3], "NoNewPrivs:\t1");
  EXPECT_EQ(out[4], "runvoy");
}

TEST_F(LocalProviderTest, SplitsLongLinesIntoPartialPieces) {
  auto e = Run("head -c 40000 /dev/zero | tr '\\0' x; echo; echo next");
  const auto& events = e.events;
  std::vector<const core::LogEvent*> out;
  for (const auto& ev : events) {
    if (ev.stream == core::LogStream::kStdout)
      out.push_back(&ev);
  }
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0]->message.size(), 16384u);
  EXPECT_TRUE(out[0]->partial);
  EXPECT_EQ(out[1]->message.size(), 16384u);
  EXPECT_TRUE(out[1]->partial);
  EXPECT_EQ(out[2]->message.size(), 40000u - 2 * 16384u);
  EXPECT_FALSE(out[2]->partial);
  EXPECT_EQ(out[3]->message, "next");
}

TEST_F(LocalProviderTest, ReplacesInvalidUtf8AndKeepsAMissingFinalNewline) {
  auto e = Run("printf 'a\\377b\\nlast'");
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"a\xEF\xBF\xBD"
                                                                          "b",
                                                                          "last"}));
}

TEST_F(LocalProviderTest, DropsOutputPastTheCapWithOneNoticeWhileTheCommandGoesOn) {
  auto spec = Spec("seq 1 200000; echo tail >&2; exit 7");
  spec.output_cap_bytes = 1000;
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited);
  EXPECT_EQ(e.exit->exit_code, 7);  // the command ran to its end
  size_t bytes = 0;
  for (const auto& line : Lines(e, core::LogStream::kStdout))
    bytes += line.size();
  EXPECT_LE(bytes, 1000u);
  EXPECT_GT(bytes, 500u);
  EXPECT_TRUE(Lines(e, core::LogStream::kStderr).empty());
  EXPECT_EQ(
      Lines(e, core::LogStream::kRunvoy),
      (std::vector<std::string>{"output limit of 1000 bytes reached; further output is dropped"}));
}

TEST_F(LocalProviderTest, ScrubsSecretValuesAndTheirBase64FormAcrossWrites) {
  auto spec = Spec(
      "printf 'token=hunt'; sleep 0.2; printf 'er2-s3cret!\\n'; "
      "printf '%s' \"$DB_PASSWORD\" | base64; echo \"$DB_PASSWORD\" >&2");
  spec.secrets = {{"db", "DB_PASSWORD", "hunter2-s3cret"}};
  spec.banner = {"### runvoy: command with hunter2-s3cret"};
  auto e = Run(spec);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"token=***!", "***"}));
  EXPECT_EQ(Lines(e, core::LogStream::kStderr), (std::vector<std::string>{"***"}));
  EXPECT_EQ(Lines(e, core::LogStream::kRunvoy),
            (std::vector<std::string>{"### runvoy: command with ***"}));
}

// Runs of real images are in image_store_test.cc and tests/e2e/local_images_test.cc.
TEST_F(LocalProviderTest, AnImageWhoseRegistryCannotBeReachedFailsToStartWithTheReason) {
  contract::ImageSpec image;
  image.reference = "not a reference";
  auto check = provider_->CheckImage(image);
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().code, core::ErrorCode::kInvalidRequest);
  image.reference = "host";
  EXPECT_TRUE(provider_->CheckImage(image).has_value());
  // Port 1 on loopback: nothing listens there.
  image.reference = "127.0.0.1:1/none/image:1";
  EXPECT_TRUE(provider_->CheckImage(image).has_value());

  auto spec = Spec("echo hi");
  spec.image.reference = image.reference;
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kFailedToStart);
  EXPECT_EQ(e.exit->reason.rfind("image 127.0.0.1:1/none/image:1: cannot reach the registry", 0),
            0u)
      << e.exit->reason;
  EXPECT_EQ(e.started, 0);
  EXPECT_EQ(Lines(e, core::LogStream::kRunvoy).back(), e.exit->reason);
}

// More in git_workspace_test.cc.
TEST_F(LocalProviderTest, AnUnreachableGitRepositoryFailsToStartWithTheReason) {
  auto spec = Spec("echo hi");
  spec.git.repo = "https://example.invalid/repo.git";
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kFailedToStart);
  EXPECT_NE(e.exit->reason.find("git clone of https://example.invalid/repo.git failed"),
            std::string::npos)
      << e.exit->reason;
}

TEST_F(LocalProviderTest, RemovesTheExecutionDirectoryAndCgroupAfterTheExit) {
  auto spec = Spec("true");
  auto e = Run(spec);
  ASSERT_TRUE(e.exit);
  EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/pids/runvoy/" + spec.execution_id));
  EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/memory/runvoy/" + spec.execution_id));
  EXPECT_TRUE(WaitUntil(
      [&] { return !std::filesystem::exists(data_dir_ + "/executions/" + spec.execution_id); }));
}

TEST_F(LocalProviderTest, ASecondProviderAttachesToARunningSupervisor) {
  auto spec = Spec("echo first; read line </dev/zero & sleep 1; echo second; exit 5");
  const std::string ref = StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "first"));
  // The server "restarts": the first provider goes away, the task goes on.
  provider_.reset();
  const auto before = sink_.Get(spec.execution_id);
  ASSERT_FALSE(before.exit.has_value());
  const int64_t after = before.events.back().sequence;

  CollectingSink second_sink;
  provider_ = MakeProvider(&second_sink);
  ASSERT_NE(provider_, nullptr);
  auto tasks = provider_->List();
  ASSERT_TRUE(tasks.has_value());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].execution_id, spec.execution_id);
  EXPECT_EQ((*tasks)[0].task_ref, ref);
  EXPECT_TRUE((*tasks)[0].running);

  ASSERT_TRUE(provider_->Attach(spec.execution_id, ref, after).has_value());
  ASSERT_TRUE(second_sink.WaitForExit(spec.execution_id));
  auto e = second_sink.Get(spec.execution_id);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited);
  EXPECT_EQ(e.exit->exit_code, 5);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"second"}));
  for (const auto& ev : e.events)
    EXPECT_GT(ev.sequence, after);
  started_.clear();  // its exit went to the second sink
  EXPECT_FALSE(provider_->Attach("nosuch", "1", 0).has_value());
}

TEST_F(LocalProviderTest, ASecondProviderCanKillATaskStartedByTheFirst) {
  auto spec = Spec("echo ready; sleep 100");
  const std::string ref = StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "ready"));
  provider_.reset();

  CollectingSink second_sink;
  provider_ = MakeProvider(&second_sink);
  ASSERT_NE(provider_, nullptr);
  ASSERT_TRUE(provider_->Attach(spec.execution_id, ref, 0).has_value());
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kReconcile).has_value());
  ASSERT_TRUE(second_sink.WaitForExit(spec.execution_id));
  auto e = second_sink.Get(spec.execution_id);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kKilledByUser);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"ready"}));
  started_.clear();
}

TEST_F(LocalProviderTest, AttachDeliversTheRestOfATaskThatEndedWhileTheServerWasDown) {
  auto spec = Spec("echo one; echo two; echo three");
  StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "one"));
  provider_.reset();
  // Wait for the supervisor to finish on its own: its exit record appears.
  const std::string exit_file = data_dir_ + "/executions/" + spec.execution_id + "/exit.json";
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(exit_file); }));

  CollectingSink second_sink;
  provider_ = MakeProvider(&second_sink);
  auto tasks = provider_->List();
  ASSERT_TRUE(tasks.has_value());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_FALSE((*tasks)[0].running);
  ASSERT_TRUE(provider_->Attach(spec.execution_id, (*tasks)[0].task_ref, 0).has_value());
  ASSERT_TRUE(second_sink.WaitForExit(spec.execution_id));
  auto e = second_sink.Get(spec.execution_id);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited);
  started_.clear();
}

TEST_F(LocalProviderTest, KeepsEverythingWhileTheSinkRefusesAndDeliversItLater) {
  sink_.SetRefusing(true);
  auto spec = Spec("echo a; echo b; exit 4");
  StartOk(spec);
  const std::string exit_file = data_dir_ + "/executions/" + spec.execution_id + "/exit.json";
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(exit_file); }));
  ASSERT_TRUE(WaitUntil([&] { return sink_.refused() >= 2; }));
  EXPECT_TRUE(std::filesystem::exists(exit_file));  // not cleaned up while unrecorded
  sink_.SetRefusing(false);
  ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  auto e = sink_.Get(spec.execution_id);
  EXPECT_TRUE(e.violations.empty());
  EXPECT_EQ(e.started, 1);
  EXPECT_EQ(Lines(e, core::LogStream::kStdout), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(e.exit->exit_code, 4);
  EXPECT_TRUE(WaitUntil(
      [&] { return !std::filesystem::exists(data_dir_ + "/executions/" + spec.execution_id); }));
}

TEST_F(LocalProviderTest, RunsManyTasksConcurrently) {
  std::vector<std::string> ids;
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) {
    auto spec = Spec("echo task " + std::to_string(i));
    StartOk(spec);
    ids.push_back(spec.execution_id);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(sink_.WaitForExit(ids[i]));
    auto e = sink_.Get(ids[i]);
    EXPECT_EQ(Lines(e, core::LogStream::kStdout),
              (std::vector<std::string>{"task " + std::to_string(i)}));
    EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::printf("%zu executions in %.2f s (%.0f/s)\n", ids.size(), seconds, ids.size() / seconds);
}

TEST_F(LocalProviderTest, DeliversTheFirstLineQuickly) {
  std::vector<double> latencies_ms;
  for (int i = 0; i < 15; ++i) {
    auto spec = Spec("echo first");
    const auto begin = std::chrono::steady_clock::now();
    StartOk(spec);
    ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "first"));
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
            .count());
    ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p50 = latencies_ms[latencies_ms.size() / 2];
  RecordProperty("first_line_p50_ms", std::to_string(p50));
  std::printf("first line p50 %.1f ms, max %.1f ms\n", p50, latencies_ms.back());
  EXPECT_LT(p50, 250.0);  // loose: a shared CI machine; the benchmark holds the real bar
}

TEST_F(LocalProviderTest, AServerSideTimeoutKillIsReportedAsTimedOut) {
  auto spec = Spec("echo ready; sleep 100");
  StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "ready"));
  ASSERT_TRUE(provider_->Kill(spec.execution_id, contract::KillReason::kTimeout).has_value());
  ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  EXPECT_EQ(sink_.Get(spec.execution_id).exit->cause, TaskExit::Cause::kTimedOut);
}

TEST_F(LocalProviderTest, ADeadSupervisorEndsItsExecution) {
  auto spec = Spec("echo ready; sleep 100");
  const std::string ref = StartOk(spec);
  ASSERT_TRUE(sink_.WaitForLine(spec.execution_id, "ready"));
  const pid_t supervisor = static_cast<pid_t>(std::stol(ref));
  ASSERT_GT(supervisor, 1);
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  ASSERT_TRUE(sink_.WaitForExit(spec.execution_id));
  auto e = sink_.Get(spec.execution_id);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kSignaled);
  EXPECT_EQ(e.exit->reason, "the supervisor of this execution died");
}

TEST_F(LocalProviderTest, CarriesManyLinesInOrder) {
  auto spec = Spec("seq 1 300000");
  const auto begin = std::chrono::steady_clock::now();
  auto e = Run(spec);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  const auto out = Lines(e, core::LogStream::kStdout);
  ASSERT_EQ(out.size(), 300000u);
  EXPECT_EQ(out.front(), "1");
  EXPECT_EQ(out[149999], "150000");
  EXPECT_EQ(out.back(), "300000");
  EXPECT_TRUE(e.violations.empty());
  std::printf("300000 lines in %.2f s (%.0f lines/s)\n", seconds, 300000 / seconds);
}

TEST_F(LocalProviderTest, RejectsADuplicateExecution) {
  auto spec = Spec("true");
  StartOk(spec);
  auto again = provider_->Start(spec);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::kConflict);
}

TEST_F(LocalProviderTest, ValidatesItsConfiguration) {
  auto bad_network = registry_.MakeCompute("local", Context({{"network", "bridge"}}));
  ASSERT_FALSE(bad_network.has_value());
  EXPECT_EQ(bad_network.error().code, core::ErrorCode::kInvalidRequest);
  EXPECT_NE(bad_network.error().message.find("network"), std::string::npos);
  auto bad_user = registry_.MakeCompute("local", Context({{"user", "no-such-user-xyz"}}));
  ASSERT_FALSE(bad_user.has_value());
  EXPECT_EQ(bad_user.error().code, core::ErrorCode::kInvalidRequest);
  auto bad_pids = registry_.MakeCompute("local", Context({{"pids_limit", "-3"}}));
  ASSERT_FALSE(bad_pids.has_value());
  EXPECT_EQ(bad_pids.error().code, core::ErrorCode::kInvalidRequest);
  for (const char* bad : {"0", "512KiB", "12x", "-1", "2TiB", ""}) {
    auto bad_workspace = registry_.MakeCompute("local", Context({{"workspace_bytes", bad}}));
    ASSERT_FALSE(bad_workspace.has_value()) << bad;
    EXPECT_NE(bad_workspace.error().message.find("workspace_bytes"), std::string::npos);
  }
  EXPECT_TRUE(registry_.MakeCompute("local", Context({{"workspace_bytes", "64MiB"}})).has_value());
  auto keys = registry_.Keys(contract::ProviderKind::kCompute, "local");
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->size(), 5u);
}

TEST_F(LocalProviderTest, HostNetworkSeesTheHostsInterfaces) {
  auto provider = registry_.MakeCompute("local", Context({{"network", "host"}}));
  ASSERT_TRUE(provider.has_value());
  CollectingSink sink;
  (*provider)->SetEventSink(sink);
  auto spec = Spec("ls /sys/class/net | wc -l");
  ASSERT_TRUE((*provider)->Start(spec).has_value());
  ASSERT_TRUE(sink.WaitForExit(spec.execution_id));
  auto e = sink.Get(spec.execution_id);
  const auto out = Lines(e, core::LogStream::kStdout);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_GE(std::stoi(out[0]), 1);
  EXPECT_EQ(e.exit->cause, TaskExit::Cause::kExited);
}

}  // namespace
}  // namespace runvoy::providers::local
