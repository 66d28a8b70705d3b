// Several servers sharing a store: heartbeats, the take-over of a silent node's executions,
// and the relay of a peer's notices (over a real SQLite store, with a clock the test controls).

#include "service/nodes.h"

#include <unistd.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "providers/sqlite/sqlite_store.h"
#include "service/event_processor.h"
#include "service/notifying_feed.h"
#include "service/peer_relay.h"
#include "service/recovery.h"

namespace runvoy::service {
namespace {

using core::ExecutionStatus;
using std::chrono::milliseconds;

class ManualClock final : public core::Clock {
 public:
  core::TimePoint Now() const override { return now_; }
  void Advance(milliseconds by) { now_ += by; }

 private:
  core::TimePoint now_ = core::FromUnixMillis(1764478601000);
};

// Knows the tasks it was told of; records attaches and kills.
class RecordingCompute final : public contract::ComputeProvider {
 public:
  std::string Name() const override { return "recording"; }
  contract::Capabilities Describe() const override { return {}; }
  void SetEventSink(contract::EventSink&) override {}
  core::Result<std::string> Start(const contract::TaskSpec& spec) override {
    return "task-" + spec.execution_id;
  }
  core::Result<void> Attach(const std::string& execution_id, const std::string&,
                            int64_t after) override {
    if (known.count(execution_id) == 0) return core::Fail(core::ErrorCode::kNotFound, "gone");
    attached[execution_id] = after;
    return {};
  }
  core::Result<void> Kill(const std::string& execution_id, contract::KillReason) override {
    killed.push_back(execution_id);
    return {};
  }
  core::Result<std::vector<contract::TaskState>> List() override {
    return std::vector<contract::TaskState>();
  }
  core::Result<void> CheckImage(const contract::ImageSpec&) override { return {}; }

  std::set<std::string> known;
  std::map<std::string, int64_t> attached;
  std::vector<std::string> killed;
};

// Records what reaches it.
class RecordingFeed final : public LogFeed {
 public:
  void OnEvents(const std::string& execution_id,
                const std::vector<core::LogEvent>& events) override {
    for (const core::LogEvent& event : events) sequences[execution_id].push_back(event.sequence);
  }
  void OnFinished(const std::string& execution_id, core::ExecutionStatus status,
                  std::optional<int>) override {
    finished[execution_id] = status;
  }
  std::map<std::string, std::vector<int64_t>> sequences;
  std::map<std::string, core::ExecutionStatus> finished;
};

class NodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    auto store = providers::sqlite::OpenSqliteStore(::testing::TempDir() + "/nodes-" +
                                                    std::to_string(::getpid()) + "-" +
                                                    std::to_string(++counter) + ".db");
    ASSERT_TRUE(store);
    store_ = std::move(*store);
  }

  void CreateExecution(const std::string& id, const std::string& node, ExecutionStatus status) {
    core::Execution execution;
    execution.execution_id = id;
    execution.created_by = "dev@example.com";
    execution.owned_by = {"dev@example.com"};
    execution.command = "echo";
    execution.image_id = "host:latest-00000000";
    execution.started_at = clock_.Now();
    execution.status = status;
    execution.node = node;
    execution.task_ref = "task-" + id;
    ASSERT_TRUE(store_->Executions().Create(execution));
  }

  void StoreEvents(const std::string& id, int64_t first, int64_t last) {
    std::vector<core::LogEvent> events;
    for (int64_t sequence = first; sequence <= last; ++sequence) {
      events.push_back({sequence, 1000, core::LogStream::kStdout, "line", false});
    }
    ASSERT_TRUE(store_->Logs().Append(id, events));
  }

  core::Execution Stored(const std::string& id) {
    auto found = store_->Executions().Get(id);
    EXPECT_TRUE(found && *found);
    return **found;
  }

  ManualClock clock_;
  std::unique_ptr<contract::Store> store_;
};

TEST_F(NodesTest, ANodeIsAliveUntilItsHeartbeatIsOlderThanTheTimeout) {
  Nodes a(*store_, clock_, "node-a", milliseconds(3000));
  Nodes b(*store_, clock_, "node-b", milliseconds(3000));
  EXPECT_FALSE(*b.IsAlive("node-a"));  // never beat
  ASSERT_TRUE(a.Beat());
  clock_.Advance(milliseconds(2900));
  EXPECT_TRUE(*b.IsAlive("node-a"));
  clock_.Advance(milliseconds(200));
  EXPECT_FALSE(*b.IsAlive("node-a"));
  EXPECT_TRUE(*b.IsAlive("node-b"));  // itself, whatever its heartbeat
  EXPECT_EQ(a.BeatInterval(), milliseconds(750));
}

TEST_F(NodesTest, ALiveNodesExecutionsAreLeftAlone) {
  Nodes a(*store_, clock_, "node-a", milliseconds(3000));
  Nodes b(*store_, clock_, "node-b", milliseconds(3000));
  ASSERT_TRUE(a.Beat());
  CreateExecution("e1", "node-a", ExecutionStatus::kRunning);
  RecordingCompute compute;
  RecordingFeed feed;
  EventProcessor processor(*store_, feed, clock_);
  auto taken = TakeOverSilentNodes(*store_, compute, processor, b);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, 0);
  EXPECT_EQ(Stored("e1").node, "node-a");
  EXPECT_EQ(Stored("e1").status, ExecutionStatus::kRunning);
}

TEST_F(NodesTest, ASilentNodesExecutionsAreTakenOverAttachedOrFailedAndKilledWhenAsked) {
  Nodes a(*store_, clock_, "node-a", milliseconds(3000));
  Nodes b(*store_, clock_, "node-b", milliseconds(3000));
  ASSERT_TRUE(a.Beat());
  CreateExecution("reachable", "node-a", ExecutionStatus::kRunning);
  CreateExecution("stopping", "node-a", ExecutionStatus::kTerminating);
  CreateExecution("lost", "node-a", ExecutionStatus::kRunning);
  CreateExecution("done", "node-a", ExecutionStatus::kSucceeded);
  StoreEvents("reachable", 1, 7);
  RecordingCompute compute;
  compute.known = {"reachable", "stopping"};
  RecordingFeed feed;
  EventProcessor processor(*store_, feed, clock_);
  clock_.Advance(milliseconds(3500));

  auto taken = TakeOverSilentNodes(*store_, compute, processor, b);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, 3);
  EXPECT_EQ(compute.attached.at("reachable"), 7);  // resumes after the stored events
  EXPECT_EQ(Stored("reachable").node, "node-b");
  EXPECT_EQ(Stored("reachable").status, ExecutionStatus::kRunning);
  EXPECT_EQ(compute.killed, std::vector<std::string>{"stopping"});
  EXPECT_EQ(Stored("lost").status, ExecutionStatus::kFailed);
  EXPECT_EQ(Stored("done").node, "node-a");

  std::vector<std::string> lines;
  ASSERT_TRUE(store_->Logs().Read("lost", 0, 0, [&](const core::LogEvent& event) {
    lines.push_back(event.message);
    return true;
  }));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("node-a went silent"), std::string::npos) << lines[0];

  auto again = TakeOverSilentNodes(*store_, compute, processor, b);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
}

TEST_F(NodesTest, OnlyOneOfTwoLiveNodesTakesOverASilentNodesExecution) {
  Nodes b(*store_, clock_, "node-b", milliseconds(3000));
  Nodes c(*store_, clock_, "node-c", milliseconds(3000));
  CreateExecution("e1", "node-a", ExecutionStatus::kRunning);
  ASSERT_TRUE(store_->Executions().ChangeNode("e1", "node-a", "node-c").value());
  RecordingCompute compute;
  compute.known = {"e1"};
  RecordingFeed feed;
  EventProcessor processor(*store_, feed, clock_);
  ASSERT_TRUE(c.Beat());
  auto taken = TakeOverSilentNodes(*store_, compute, processor, b);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, 0);
  EXPECT_EQ(Stored("e1").node, "node-c");
}

TEST_F(NodesTest, APeersEventsReachLocalFollowersInOrderWithoutGapsOrRepeats) {
  RecordingCompute compute;
  RecordingFeed local;
  bool following = false;
  PeerRelay relay(*store_, local, compute, "node-b",
                  [&following](const std::string&) { return following; });
  CreateExecution("e1", "node-a", ExecutionStatus::kRunning);
  const auto notice = [](int64_t first, int64_t last) {
    contract::Notice n;
    n.kind = contract::Notice::Kind::kNewEvents;
    n.execution_id = "e1";
    n.node = "node-a";
    n.first_sequence = first;
    n.sequence = last;
    return n;
  };
  StoreEvents("e1", 1, 3);
  relay.Handle(notice(1, 3));  // nobody follows here yet: nothing read
  EXPECT_TRUE(local.sequences["e1"].empty());
  following = true;
  StoreEvents("e1", 4, 5);
  StoreEvents("e1", 6, 8);
  relay.Handle(notice(4, 5));  // reads everything stored after 3
  relay.Handle(notice(6, 8));  // nothing new
  EXPECT_EQ(local.sequences["e1"], (std::vector<int64_t>{4, 5, 6, 7, 8}));

  // This node's own notices were delivered by its own feed already.
  contract::Notice own = notice(9, 9);
  own.node = "node-b";
  StoreEvents("e1", 9, 9);
  relay.Handle(own);
  EXPECT_EQ(local.sequences["e1"].size(), 5u);

  core::Execution ended = Stored("e1");
  ended.status = ExecutionStatus::kSucceeded;
  ended.exit_code = 0;
  ASSERT_TRUE(store_->Executions().Update(ended, ExecutionStatus::kRunning).value());
  contract::Notice end;
  end.kind = contract::Notice::Kind::kEnded;
  end.execution_id = "e1";
  end.node = "node-a";
  relay.Handle(end);
  EXPECT_EQ(local.sequences["e1"].back(), 9);
  EXPECT_EQ(local.finished.at("e1"), ExecutionStatus::kSucceeded);
}

TEST_F(NodesTest, AKillNoticeReachesOnlyTheNodeNamedInIt) {
  RecordingCompute compute;
  RecordingFeed local;
  PeerRelay relay(*store_, local, compute, "node-a", [](const std::string&) { return false; });
  contract::Notice kill;
  kill.kind = contract::Notice::Kind::kKill;
  kill.execution_id = "e1";
  kill.node = "node-b";
  kill.detail = "user";
  relay.Handle(kill);
  EXPECT_TRUE(compute.killed.empty());
  kill.node = "node-a";
  relay.Handle(kill);
  EXPECT_EQ(compute.killed, std::vector<std::string>{"e1"});
}

TEST_F(NodesTest, TheFeedTellsPeersWhichEventsAreStoredAndWhenAnExecutionEnds) {
  RecordingFeed local;
  std::vector<contract::Notice> heard;
  store_->Notices().Listen([&heard](const contract::Notice& n) { heard.push_back(n); });
  NotifyingFeed feed(local, store_->Notices(), "node-a");
  feed.OnEvents("e1", {{4, 1000, core::LogStream::kStdout, "a", false},
                       {5, 1000, core::LogStream::kStdout, "b", false}});
  feed.OnFinished("e1", ExecutionStatus::kFailed, 2);
  store_->Notices().Stop();
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].kind, contract::Notice::Kind::kNewEvents);
  EXPECT_EQ(heard[0].first_sequence, 4);
  EXPECT_EQ(heard[0].sequence, 5);
  EXPECT_EQ(heard[0].node, "node-a");
  EXPECT_EQ(heard[1].kind, contract::Notice::Kind::kEnded);
  EXPECT_EQ(local.sequences["e1"], (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(local.finished.at("e1"), ExecutionStatus::kFailed);
}

}  // namespace
}  // namespace runvoy::service
