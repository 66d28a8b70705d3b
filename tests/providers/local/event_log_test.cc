#include "providers/local/event_log.h"

#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include "providers/local/supervisor.h"

namespace runvoy::providers::local {
namespace {

core::LogEvent Event(int64_t seq, core::LogStream stream, std::string message, bool partial) {
  core::LogEvent e;
  e.sequence = seq;
  e.timestamp_ms = 1700000000000 + seq;
  e.stream = stream;
  e.message = std::move(message);
  e.partial = partial;
  return e;
}

TEST(EventLogTest, DecodesWhatWasEncodedInAnyChunking) {
  std::string bytes;
  AppendEventRecord(Event(1, core::LogStream::kRunvoy, "banner", false), bytes);
  AppendStartedRecord(1700000000123, bytes);
  AppendEventRecord(Event(2, core::LogStream::kStdout, std::string("bin\0ary", 7), true), bytes);
  AppendEventRecord(Event(3, core::LogStream::kStderr, "", false), bytes);
  for (size_t step = 1; step <= bytes.size(); ++step) {
    EventDecoder decoder;
    std::vector<core::LogEvent> events;
    std::optional<int64_t> started;
    for (size_t i = 0; i < bytes.size(); i += step) {
      ASSERT_TRUE(decoder.Feed(std::string_view(bytes).substr(i, step), events, started));
    }
    ASSERT_EQ(events.size(), 3u);
    ASSERT_TRUE(started.has_value());
    EXPECT_EQ(*started, 1700000000123);
    EXPECT_EQ(events[0].message, "banner");
    EXPECT_EQ(events[0].stream, core::LogStream::kRunvoy);
    EXPECT_EQ(events[1].sequence, 2);
    EXPECT_EQ(events[1].timestamp_ms, 1700000000002);
    EXPECT_EQ(events[1].message, std::string("bin\0ary", 7));
    EXPECT_TRUE(events[1].partial);
    EXPECT_EQ(events[2].stream, core::LogStream::kStderr);
    EXPECT_EQ(events[2].message, "");
  }
}

TEST(EventLogTest, RejectsCorruptRecords) {
  EventDecoder decoder;
  std::vector<core::LogEvent> events;
  std::optional<int64_t> started;
  EXPECT_FALSE(decoder.Feed(std::string("\x03\x00\x00\x00Xab", 7), events, started));
}

TEST(EventLogTest, ExitRecordsRoundTrip) {
  contract::TaskExit exit;
  exit.cause = contract::TaskExit::Cause::kSignaled;
  exit.signal = 9;
  exit.exit_code = 0;
  exit.reason = "memory limit of 64 MB reached";
  exit.at = core::FromUnixMillis(1700000000456);
  auto decoded = DecodeExit(EncodeExit(exit));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->cause, exit.cause);
  EXPECT_EQ(decoded->signal, 9);
  EXPECT_EQ(decoded->reason, exit.reason);
  EXPECT_EQ(core::ToUnixMillis(decoded->at), 1700000000456);
  EXPECT_FALSE(DecodeExit("{\"cause\":\"bogus\"}").has_value());
  EXPECT_FALSE(DecodeExit("not json").has_value());
}

TEST(EventLogTest, ASupervisorIsAliveOnlyWhileItHoldsItsLock) {
  const std::string dir = testing::TempDir() + "/event_log_lock_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  EXPECT_FALSE(SupervisorAlive(dir));  // no lock file
  const std::string lock_path = dir + "/" + kLockFile;
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  EXPECT_FALSE(SupervisorAlive(dir));  // nobody holds it
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);
  EXPECT_TRUE(SupervisorAlive(dir));
  ::close(lock);
  EXPECT_FALSE(SupervisorAlive(dir));
  std::filesystem::remove_all(dir);
}

TEST(SupervisorSpecTest, RoundTripsThroughJson) {
  SupervisorSpec spec;
  spec.task.execution_id = "abc";
  spec.task.command = "echo hi";
  spec.task.image.reference = "host";
  spec.task.image.cpu = 512;
  spec.task.image.memory_mb = 64;
  spec.task.env = {{"A", "1"}};
  spec.task.secrets = {{"db", "DB_PASSWORD", "pw1234"}};
  spec.task.timeout = std::chrono::seconds(7);
  spec.task.kill_grace = std::chrono::milliseconds(250);
  spec.task.output_cap_bytes = 1000;
  spec.task.banner = {"### runvoy: request r"};
  spec.network = "host";
  spec.pids_limit = 32;
  spec.user = "nobody";
  auto decoded = DecodeSupervisorSpec(EncodeSupervisorSpec(spec));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->task.command, "echo hi");
  EXPECT_EQ(decoded->task.image.memory_mb, 64);
  EXPECT_EQ(decoded->task.env.at("A"), "1");
  ASSERT_EQ(decoded->task.secrets.size(), 1u);
  EXPECT_EQ(decoded->task.secrets[0].value, "pw1234");
  EXPECT_EQ(decoded->task.timeout, std::chrono::seconds(7));
  EXPECT_EQ(decoded->task.kill_grace, std::chrono::milliseconds(250));
  EXPECT_EQ(decoded->task.banner, spec.task.banner);
  EXPECT_EQ(decoded->network, "host");
  EXPECT_EQ(decoded->pids_limit, 32);
}

TEST(SupervisorSpecTest, RequestEnvWinsOverSecrets) {
  contract::TaskSpec task;
  task.execution_id = "e";
  task.command = "true";
  task.secrets = {{"s", "TOKEN", "fromsecret"}, {"t", "OTHER", "o"}};
  task.env = {{"TOKEN", "fromenv"}, {"HOME", "/elsewhere"}};
  auto env = BuildEnvironment(task);
  auto has = [&](const std::string& kv) {
    return std::find(env.begin(), env.end(), kv) != env.end();
  };
  EXPECT_TRUE(has("TOKEN=fromenv"));
  EXPECT_TRUE(has("OTHER=o"));
  EXPECT_TRUE(has("RUNVOY_EXECUTION_ID=e"));
  EXPECT_TRUE(has("RUNVOY_COMMAND=true"));
  EXPECT_TRUE(has("HOME=/elsewhere"));
  EXPECT_FALSE(has("TOKEN=fromsecret"));
}

}  // namespace
}  // namespace runvoy::providers::local
