// PostgreSQL-specific behaviour of the store: the pool's bound and timeouts, a server that goes
// away and comes back, concurrent migrations, LISTEN/NOTIFY between stores, registration, and
// the streamed listings across fetch chunks. The shared behaviour is the contract suite's
// (tests/contract/store_test.cc). Tests that stop or restart the server use a private cluster.

#include "providers/postgres/postgres_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contract/registry.h"
#include "core/error.h"
#include "core/records.h"
#include "core/role.h"
#include "providers/postgres/migrations.h"
#include "providers/postgres/notifier.h"
#include "providers/postgres/pg_db.h"
#include "providers/postgres/repositories.h"
#include "support/postgres.h"

namespace runvoy::providers::postgres {
namespace {

using core::ErrorCode;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// Generous: the machine is small and shared.
constexpr seconds kDeadline{30};

// Runs `sql` on a separate plain connection and returns the first column of every row.
std::vector<std::string> Query(const std::string& dsn, const std::string& sql) {
  std::vector<std::string> values;
  PGconn* conn = PQconnectdb(dsn.c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* result = PQexec(conn, sql.c_str());
  EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQresultErrorMessage(result);
  for (int r = 0; r < PQntuples(result); ++r) {
    values.emplace_back(PQgetvalue(result, r, 0));
  }
  PQclear(result);
  PQfinish(conn);
  return values;
}

std::unique_ptr<contract::Store> Open(const std::string& dsn, std::size_t pool_size = 8) {
  PostgresOptions options;
  options.dsn = dsn;
  options.pool_size = pool_size;
  options.acquire_timeout = milliseconds(3000);
  options.connect_timeout = seconds(3);
  auto store = OpenPostgresStore(options);
  EXPECT_TRUE(store.has_value()) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

core::Execution MakeExecution(const std::string& id, int64_t started_ms) {
  core::Execution e;
  e.execution_id = id;
  e.created_by = "dev@example.com";
  e.owned_by = {"dev@example.com", "with \"quotes\", commas and \\ backslash"};
  e.command = "true";
  e.image_id = "img";
  e.started_at = core::FromUnixMillis(started_ms);
  e.status = core::ExecutionStatus::kRunning;
  e.log_stream_name = "runvoy/" + id;
  e.cloud = "local";
  e.node = "node-a";
  e.task_ref = "task";
  e.timeout_seconds = 60;
  return e;
}

std::vector<core::LogEvent> Events(int64_t first, int64_t count) {
  std::vector<core::LogEvent> events;
  events.reserve(static_cast<std::size_t>(count));
  for (int64_t s = first; s < first + count; ++s) {
    events.push_back(core::LogEvent{s, 1000 + s, core::LogStream::kStdout,
                                    "line " + std::to_string(s) + " {\"json\": [1,2]}", false});
  }
  return events;
}

// Notices received by a listener, awaited with a deadline.
class NoticeInbox {
 public:
  contract::Notifier::Listener Listener() {
    return [this](const contract::Notice& notice) {
      {
        std::scoped_lock lock(mutex_);
        notices_.push_back(notice);
      }
      changed_.notify_all();
    };
  }
  // True when a notice matching `match` arrived before the deadline.
  bool WaitFor(const std::function<bool(const contract::Notice&)>& match,
               seconds deadline = kDeadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] {
      for (const auto& notice : notices_) {
        if (match(notice)) {
          return true;
        }
      }
      return false;
    });
  }

 private:
  std::mutex mutex_;  // guards notices_
  std::condition_variable changed_;
  std::vector<contract::Notice> notices_;
};

contract::Notice NewEvents(const std::string& id, int64_t sequence) {
  contract::Notice notice;
  notice.kind = contract::Notice::Kind::kNewEvents;
  notice.execution_id = id;
  notice.node = "node-a";
  notice.sequence = sequence;
  return notice;
}

bool IsMissedNotice(const contract::Notice& notice) {
  return notice.kind == contract::Notice::Kind::kNewEvents && notice.execution_id.empty();
}

TEST(PostgresStore, IsSharedAndNamedPostgres) {
  auto store = Open(runvoy::testing::FreshPostgresDatabase());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Name(), "postgres");
  EXPECT_TRUE(store->IsShared());
  EXPECT_TRUE(store->Ping().has_value());
}

TEST(PostgresStore, OpeningRecordsEachMigrationOnceAndReopeningChangesNothing) {
  const std::string dsn = runvoy::testing::FreshPostgresDatabase();
  ASSERT_NE(Open(dsn), nullptr);
  ASSERT_NE(Open(dsn), nullptr);
  EXPECT_EQ(Query(dsn, "SELECT count(*) FROM schema_version"),
            std::vector<std::string>{std::to_string(Migrations().size())});
}

TEST(PostgresStore, StoresOpeningAnEmptyDatabaseAtOnceMigrateItOnce) {
  const std::string dsn = runvoy::testing::FreshPostgresDatabase();
  constexpr int kStores = 6;
  std::latch start(kStores);
  std::atomic<int> opened{0};
  std::vector<std::string> errors(kStores);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kStores; ++i) {
      threads.emplace_back([&, i] {
        PostgresOptions options;
        options.dsn = dsn;
        start.arrive_and_wait();
        auto store = OpenPostgresStore(options);
        if (store) {
          ++opened;
        } else {
          errors[static_cast<std::size_t>(i)] = store.error().message + store.error().details;
        }
      });
    }
  }
  EXPECT_EQ(opened.load(), kStores) << errors[0] << errors[1];
  EXPECT_EQ(Query(dsn, "SELECT count(*) FROM schema_version"),
            std::vector<std::string>{std::to_string(Migrations().size())});
}

TEST(PostgresPool, NeverOpensMoreThanItsSizeAndTimesOutWhenAllAreBusy) {
  const std::string dsn = runvoy::testing::FreshPostgresDatabase();
  PoolOptions options;
  options.connect.dsn = dsn;
  options.max_size = 2;
  options.acquire_timeout = milliseconds(300);
  Pool pool(options);
  std::latch holding(2);
  std::latch release(1);
  std::vector<std::jthread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&] {
      auto held = pool.Run<void>([&](Connection& c) -> Result<void> {
        auto one = c.Query("SELECT 1");
        holding.count_down();
        release.wait();
        if (!one) {
          return tl::unexpected(one.error());
        }
        return {};
      });
      EXPECT_TRUE(held.has_value());
    });
  }
  holding.wait();
  const auto before = Clock::now();
  auto starved = pool.Run<void>([](Connection&) -> Result<void> { return {}; });
  const auto waited = Clock::now() - before;
  ASSERT_FALSE(starved.has_value());
  EXPECT_EQ(starved.error().code, ErrorCode::kDatabase);
  EXPECT_EQ(starved.error().message.rfind("database unavailable: ", 0), 0u)
      << starved.error().message;
  EXPECT_GE(waited, milliseconds(250));
  EXPECT_LT(waited, seconds(10));
  EXPECT_EQ(pool.OpenCount(), 2u);
  release.count_down();
  holders.clear();
  auto served = pool.Run<void>([](Connection& c) -> Result<void> {
    auto one = c.Query("SELECT 1");
    if (!one) {
      return tl::unexpected(one.error());
    }
    return {};
  });
  EXPECT_TRUE(served.has_value());
  EXPECT_EQ(pool.OpenCount(), 2u);
}

TEST(PostgresPool, AWaitingCallerGetsTheConnectionAnotherGivesBack) {
  PoolOptions options;
  options.connect.dsn = runvoy::testing::FreshPostgresDatabase();
  options.max_size = 1;
  options.acquire_timeout = seconds(20);
  Pool pool(options);
  std::atomic<int> done{0};
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        for (int j = 0; j < 20; ++j) {
          auto ran = pool.Run<void>([](Connection& c) -> Result<void> {
            auto one = c.Query("SELECT 1");
            if (!one) {
              return tl::unexpected(one.error());
            }
            return {};
          });
          if (ran) {
            ++done;
          }
        }
      });
    }
  }
  EXPECT_EQ(done.load(), 160);
  EXPECT_EQ(pool.OpenCount(), 1u);
}

TEST(PostgresPool, TheStatementTimeoutCancelsALongStatement) {
  PoolOptions options;
  options.connect.dsn = runvoy::testing::FreshPostgresDatabase();
  options.connect.statement_timeout = milliseconds(200);
  Pool pool(options);
  const auto before = Clock::now();
  auto slept = pool.Run<void>([](Connection& c) -> Result<void> {
    auto sleep = c.Query("SELECT pg_sleep(20)");
    if (!sleep) {
      return tl::unexpected(sleep.error());
    }
    return {};
  });
  ASSERT_FALSE(slept.has_value());
  EXPECT_EQ(slept.error().code, ErrorCode::kDatabase);
  EXPECT_LT(Clock::now() - before, seconds(15));
  // The connection survives the cancelled statement and serves the next call.
  auto next = pool.Run<void>([](Connection& c) -> Result<void> {
    auto one = c.Query("SELECT 1");
    if (!one) {
      return tl::unexpected(one.error());
    }
    return {};
  });
  EXPECT_TRUE(next.has_value());
}

TEST(PostgresStore, AnUnreachableServerIsADatabaseErrorAtOpen) {
  PostgresOptions options;
  options.dsn =
      runvoy::testing::WithDatabase(runvoy::testing::PostgresClusterDsn(), "runvoy") + " port=1";
  const auto before = Clock::now();
  auto store = OpenPostgresStore(options);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kDatabase);
  EXPECT_LT(Clock::now() - before, seconds(10));
}

// A loopback port that accepts TCP connections (the kernel completes them) but never answers:
// a server that hangs.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), size), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size), 0);
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  SilentServer(SilentServer&&) = delete;
  SilentServer& operator=(SilentServer&&) = delete;

  std::string Dsn(const std::string& extra = {}) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=runvoy dbname=runvoy " + extra;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(PostgresStore, TheDsnsConnectTimeoutBoundsTheWaitForAServerThatNeverAnswers) {
  SilentServer silent;
  PostgresOptions options;
  options.dsn = silent.Dsn("connect_timeout=2");  // wins over the default of 5 s
  const auto before = Clock::now();
  auto store = OpenPostgresStore(options);
  const auto waited = Clock::now() - before;
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kDatabase);
  EXPECT_GE(waited, milliseconds(1500));
  EXPECT_LT(waited, milliseconds(4500));
}

TEST(PostgresNotifier, StopReturnsAtOnceWhileTheListenerIsStillConnecting) {
  SilentServer silent;
  PoolOptions options;
  options.connect.dsn = silent.Dsn();
  options.connect.connect_timeout = seconds(60);
  Pool pool(options);
  PostgresNotifier notifier(pool, options.connect, "runvoy_notices");
  NoticeInbox inbox;
  notifier.Listen(inbox.Listener());  // gives up waiting after a few seconds
  EXPECT_FALSE(notifier.Listening());
  const auto before = Clock::now();
  notifier.Stop();
  EXPECT_LT(Clock::now() - before, seconds(5));
}

TEST(PostgresStore, AnEmptyDsnIsAnInvalidRequest) {
  auto store = OpenPostgresStore(PostgresOptions{});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidRequest);
}

TEST(PostgresStore, RegistersItsKeysAndRejectsBadValues) {
  contract::Registry registry;
  Register(registry);
  auto keys = registry.Keys(contract::ProviderKind::kStore, "postgres");
  ASSERT_TRUE(keys.has_value());
  for (const char* key :
       {"dsn", "pool_size", "connect_timeout", "acquire_timeout", "statement_timeout"}) {
    EXPECT_NE(std::find(keys->begin(), keys->end(), key), keys->end()) << key;
  }
  contract::ProviderContext context;
  context.section = {{"dsn", "host=127.0.0.1"},
                     {"pool_size", "3"},
                     {"acquire_timeout", "750ms"},
                     {"statement_timeout", "2s"},
                     {"connect_timeout", "4"}};
  auto options = OptionsFromSection(context);
  ASSERT_TRUE(options.has_value()) << options.error().message;
  EXPECT_EQ(options->pool_size, 3u);
  EXPECT_EQ(options->acquire_timeout, milliseconds(750));
  EXPECT_EQ(options->statement_timeout, milliseconds(2000));
  EXPECT_EQ(options->connect_timeout, seconds(4));
  EXPECT_TRUE(options->connect_timeout_explicit);
  context.section["pool_size"] = "0";
  auto bad = OptionsFromSection(context);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidRequest);
  context.section["pool_size"] = "2";
  context.section["acquire_timeout"] = "soon";
  EXPECT_FALSE(OptionsFromSection(context).has_value());
  contract::ProviderContext built;
  built.section = {{"dsn", runvoy::testing::FreshPostgresDatabase()}};
  auto store = registry.MakeStore("postgres", built);
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_TRUE((*store)->Ping().has_value());
}

TEST(PostgresStore, ReadStreamsEveryEventAcrossFetchChunks) {
  auto store = Open(runvoy::testing::FreshPostgresDatabase());
  ASSERT_NE(store, nullptr);
  const int64_t total = kFetchChunk * 2 + 123;
  ASSERT_TRUE(store->Logs().Append("e", Events(1, total)).has_value());
  int64_t expected = 1;
  ASSERT_TRUE(store->Logs()
                  .Read("e", 0, 0,
                        [&](const core::LogEvent& event) {
                          EXPECT_EQ(event.sequence, expected);
                          ++expected;
                          return true;
                        })
                  .has_value());
  EXPECT_EQ(expected, total + 1);
  std::vector<int64_t> limited;
  ASSERT_TRUE(store->Logs()
                  .Read("e", 10, static_cast<std::size_t>(kFetchChunk + 5),
                        [&](const core::LogEvent& event) {
                          limited.push_back(event.sequence);
                          return true;
                        })
                  .has_value());
  ASSERT_EQ(limited.size(), static_cast<std::size_t>(kFetchChunk + 5));
  EXPECT_EQ(limited.front(), 11);
  EXPECT_EQ(limited.back(), 10 + kFetchChunk + 5);
  EXPECT_EQ(*store->Logs().LastSequence("e"), total);
}

TEST(PostgresStore, ListStreamsExecutionsAcrossFetchChunksNewestFirst) {
  auto store = Open(runvoy::testing::FreshPostgresDatabase());
  ASSERT_NE(store, nullptr);
  const int total = static_cast<int>(kFetchChunk) + 37;
  for (int i = 0; i < total; ++i) {
    // Pairs share a start time, so the id breaks ties across chunk boundaries too.
    ASSERT_TRUE(store->Executions()
                    .Create(MakeExecution("e" + std::to_string(1000 + i), i / 2))
                    .has_value());
  }
  contract::ExecutionFilter all;
  all.limit = 0;
  std::vector<std::string> ids;
  ASSERT_TRUE(store->Executions()
                  .List(all,
                        [&](const core::Execution& e) {
                          ids.push_back(e.execution_id);
                          EXPECT_EQ(e.owned_by, MakeExecution("x", 0).owned_by);
                          return true;
                        })
                  .has_value());
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(total));
  for (int i = 0; i < total; ++i) {
    EXPECT_EQ(ids[static_cast<std::size_t>(i)], "e" + std::to_string(1000 + total - 1 - i));
  }
}

TEST(PostgresStore, LogMessagesKeepNulAndInvalidUtf8BytesAsSqliteDoes) {
  auto store = Open(runvoy::testing::FreshPostgresDatabase());
  ASSERT_NE(store, nullptr);
  constexpr char kRaw[] = "nul\0inside \xFF\xFE end\\ \"{,}\"";
  const std::string message(kRaw, sizeof(kRaw) - 1);
  ASSERT_TRUE(store->Logs()
                  .Append("e", {core::LogEvent{1, 5, core::LogStream::kStderr, message, true}})
                  .has_value());
  std::vector<core::LogEvent> events;
  ASSERT_TRUE(store->Logs()
                  .Read("e", 0, 0,
                        [&](const core::LogEvent& event) {
                          events.push_back(event);
                          return true;
                        })
                  .has_value());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, message);
  EXPECT_EQ(events[0].stream, core::LogStream::kStderr);
  EXPECT_TRUE(events[0].partial);
}

TEST(PostgresStore, AppendOfABigBatchIsOneFastIdempotentWrite) {
  auto store = Open(runvoy::testing::FreshPostgresDatabase());
  ASSERT_NE(store, nullptr);
  constexpr int64_t kBatch = 1000;
  constexpr int64_t kBatches = 50;
  const auto before = Clock::now();
  for (int64_t b = 0; b < kBatches; ++b) {
    ASSERT_TRUE(store->Logs().Append("e", Events(1 + b * kBatch, kBatch)).has_value());
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - before).count();
  std::cout << "[ figures  ] postgres Append: " << static_cast<int64_t>(kBatch * kBatches / elapsed)
            << " log lines/s in batches of " << kBatch << "\n";
  // Re-delivering an overlapping batch stores nothing twice.
  ASSERT_TRUE(store->Logs().Append("e", Events(kBatch * kBatches - 10, 20)).has_value());
  EXPECT_EQ(*store->Logs().LastSequence("e"), kBatch * kBatches + 9);
  int64_t count = 0;
  ASSERT_TRUE(store->Logs()
                  .Read("e", 0, 0,
                        [&](const core::LogEvent&) {
                          ++count;
                          return true;
                        })
                  .has_value());
  EXPECT_EQ(count, kBatch * kBatches + 9);
}

TEST(PostgresNotifier, DeliversANoticeToEveryStoreOnTheDatabaseIncludingThePublisher) {
  const std::string dsn = runvoy::testing::FreshPostgresDatabase();
  auto a = Open(dsn);
  auto b = Open(dsn);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  NoticeInbox inbox_a;
  NoticeInbox inbox_b;
  a->Notices().Listen(inbox_a.Listener());
  b->Notices().Listen(inbox_b.Listener());
  contract::Notice kill;
  kill.kind = contract::Notice::Kind::kKill;
  kill.execution_id = "exec-1";
  kill.node = "node-b";
  kill.detail = "user";
  ASSERT_TRUE(a->Notices().Publish(kill).has_value());
  ASSERT_TRUE(a->Notices().Publish(NewEvents("exec-1", 42)).has_value());
  auto is_kill = [](const contract::Notice& n) {
    return n.kind == contract::Notice::Kind::kKill && n.execution_id == "exec-1" &&
           n.node == "node-b" && n.detail == "user";
  };
  auto is_events = [](const contract::Notice& n) {
    return n.kind == contract::Notice::Kind::kNewEvents && n.execution_id == "exec-1" &&
           n.sequence == 42;
  };
  EXPECT_TRUE(inbox_b.WaitFor(is_kill));
  EXPECT_TRUE(inbox_b.WaitFor(is_events));
  EXPECT_TRUE(inbox_a.WaitFor(is_kill));
  EXPECT_TRUE(inbox_a.WaitFor(is_events));
  b->Notices().Stop();
}

TEST(PostgresNotifier, StoresOnOtherDatabasesHearNothing) {
  auto a = Open(runvoy::testing::FreshPostgresDatabase());
  auto b = Open(runvoy::testing::FreshPostgresDatabase());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  NoticeInbox inbox_a;
  NoticeInbox inbox_b;
  a->Notices().Listen(inbox_a.Listener());
  b->Notices().Listen(inbox_b.Listener());
  ASSERT_TRUE(b->Notices().Publish(NewEvents("other", 1)).has_value());
  ASSERT_TRUE(a->Notices().Publish(NewEvents("mine", 1)).has_value());
  // Notices of one sender arrive in order, so once "mine" is in, "other" would be too.
  ASSERT_TRUE(inbox_a.WaitFor([](const contract::Notice& n) { return n.execution_id == "mine"; }));
  EXPECT_FALSE(inbox_a.WaitFor([](const contract::Notice& n) { return n.execution_id == "other"; },
                               seconds(0)));
}

TEST(PostgresStore, AConnectionTheServerEndedIsReplacedOnTheNextCall) {
  const std::string dsn = runvoy::testing::FreshPostgresDatabase();
  auto store = Open(dsn, 2);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Settings().Put("k", "v").has_value());
  // Ends every other session of this database (a role may end its own sessions).
  EXPECT_FALSE(Query(dsn,
                     "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE "
                     "datname = current_database() AND pid <> pg_backend_pid()")
                   .empty());
  auto got = store->Settings().Get("k");
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(got->value_or(""), "v");
  EXPECT_TRUE(store->Settings().Put("k", "w").has_value());
}

TEST(PostgresStore, TwoStoresOnOneDatabaseLetExactlyOneClaimWin) {
  const std::string dsn = runvoy::testing::FreshPostgresDatabase();
  auto a = Open(dsn);
  auto b = Open(dsn);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  core::User pending;
  pending.email = "a@example.com";
  pending.role = core::Role::kDeveloper;
  pending.status = core::UserStatus::kPending;
  pending.created_at = core::FromUnixMillis(1000);
  pending.expires_at = core::FromUnixMillis(90000);
  core::ClaimToken token;
  token.token_hash = "tok";
  token.email = pending.email;
  token.created_at = core::FromUnixMillis(1000);
  token.expires_at = core::FromUnixMillis(90000);
  ASSERT_TRUE(a->Users().CreatePending(pending, token, core::FromUnixMillis(1000)).has_value());
  constexpr int kThreads = 8;
  std::atomic<int> wins{0};
  std::atomic<int> conflicts{0};
  {
    std::latch start(kThreads);
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        contract::Store& store = i % 2 == 0 ? *a : *b;
        start.arrive_and_wait();
        auto claimed = store.Users().Claim("tok", "hash-" + std::to_string(i),
                                           core::FromUnixMillis(2000), "req");
        if (claimed) {
          ++wins;
        } else if (claimed.error().code == ErrorCode::kConflict) {
          ++conflicts;
        }
      });
    }
  }
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TEST(PostgresStore, AuditEntriesFromTwoStoresGetIncreasingPositionsWithoutGaps) {
  const std::string dsn = runvoy::testing::FreshPostgresDatabase();
  auto a = Open(dsn);
  auto b = Open(dsn);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kPerNode = 40;
  {
    std::vector<std::jthread> threads;
    for (contract::Store* store : {a.get(), b.get()}) {
      threads.emplace_back([store, node = store == a.get() ? "n1" : "n2"] {
        for (int seq = 1; seq <= kPerNode; ++seq) {
          core::AuditEntry entry;
          entry.node = node;
          entry.seq = seq;
          entry.time = core::FromUnixMillis(seq);
          EXPECT_TRUE(store->Audit().Append({entry}).has_value());
        }
      });
    }
  }
  std::vector<int64_t> positions;
  std::map<std::string, int64_t> last_seq;
  ASSERT_TRUE(b->Audit()
                  .List(0, 0,
                        [&](int64_t position, const core::AuditEntry& entry) {
                          positions.push_back(position);
                          EXPECT_EQ(entry.seq, last_seq[entry.node] + 1);
                          last_seq[entry.node] = entry.seq;
                          return true;
                        })
                  .has_value());
  ASSERT_EQ(positions.size(), static_cast<std::size_t>(2 * kPerNode));
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  EXPECT_EQ(std::adjacent_find(positions.begin(), positions.end()), positions.end());
}

// The tests below stop or restart the server: each runs its own cluster.

TEST(PostgresRestart, TheStoreServesAgainAfterTheServerRestarts) {
  runvoy::testing::PostgresCluster cluster;
  ASSERT_FALSE(cluster.Dsn().empty());
  auto store = Open(cluster.Dsn(), 4);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Executions().Create(MakeExecution("before", 1)).has_value());
  ASSERT_TRUE(store->Settings().Put("k", "v").has_value());  // a second idle connection, maybe
  ASSERT_TRUE(cluster.Restart());
  // Every pooled connection died with the old server; each is replaced on its next use.
  EXPECT_TRUE(store->Ping().has_value());
  auto got = store->Executions().Get("before");
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_TRUE(got->has_value());
  EXPECT_TRUE(store->Executions().Create(MakeExecution("after", 2)).has_value());
  auto setting = store->Settings().Get("k");
  ASSERT_TRUE(setting.has_value()) << setting.error().message;
  EXPECT_EQ(setting->value_or(""), "v");
}

TEST(PostgresRestart, ADownServerIsAQuickDatabaseErrorNeverAHang) {
  runvoy::testing::PostgresCluster cluster;
  ASSERT_FALSE(cluster.Dsn().empty());
  auto store = Open(cluster.Dsn(), 4);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Users().Get("a@example.com").has_value());
  ASSERT_TRUE(cluster.StopServer());
  const auto before = Clock::now();
  auto user = store->Users().FindByKeyHash("hash");
  auto ping = store->Ping();
  auto created = store->Executions().Create(MakeExecution("down", 1));
  auto appended = store->Logs().Append("down", Events(1, 3));
  EXPECT_LT(Clock::now() - before, seconds(10));
  ASSERT_FALSE(user.has_value());
  ASSERT_FALSE(ping.has_value());
  ASSERT_FALSE(created.has_value());
  ASSERT_FALSE(appended.has_value());
  for (const core::Error* error :
       {&user.error(), &ping.error(), &created.error(), &appended.error()}) {
    EXPECT_EQ(error->code, ErrorCode::kDatabase);
    EXPECT_EQ(error->message.rfind("database unavailable: ", 0), 0u) << error->message;
  }
  ASSERT_TRUE(cluster.StartServer());
  EXPECT_TRUE(store->Ping().has_value());
  EXPECT_TRUE(store->Executions().Create(MakeExecution("up", 1)).has_value());
}

TEST(PostgresRestart, TheNotifierReconnectsSaysItMayHaveMissedNoticesAndDeliversAgain) {
  runvoy::testing::PostgresCluster cluster;
  ASSERT_FALSE(cluster.Dsn().empty());
  auto a = Open(cluster.Dsn());
  auto b = Open(cluster.Dsn());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  NoticeInbox inbox;
  b->Notices().Listen(inbox.Listener());
  ASSERT_TRUE(a->Notices().Publish(NewEvents("first", 1)).has_value());
  ASSERT_TRUE(inbox.WaitFor([](const contract::Notice& n) { return n.execution_id == "first"; }));
  EXPECT_FALSE(inbox.WaitFor(IsMissedNotice, seconds(0)));
  ASSERT_TRUE(cluster.Restart());
  ASSERT_TRUE(inbox.WaitFor(IsMissedNotice));
  // Listening again: a notice published now arrives (the publisher's pool reconnects too).
  ASSERT_TRUE(a->Notices().Publish(NewEvents("second", 2)).has_value());
  EXPECT_TRUE(inbox.WaitFor([](const contract::Notice& n) { return n.execution_id == "second"; }));
  b->Notices().Stop();
}

}  // namespace
}  // namespace runvoy::providers::postgres
