// The audit trail over a real SQLite store: concurrent records make one unbroken hash chain.

#include "service/audit_trail.h"

#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/audit_hash.h"
#include "providers/sqlite/sqlite_store.h"

namespace runvoy::service {
namespace {

TEST(AuditTrailTest, ConcurrentRecordsFormOneUnbrokenChainWithEveryEntryOnce) {
  auto store = providers::sqlite::OpenSqliteStore(::testing::TempDir() + "/audit-" +
                                                  std::to_string(::getpid()) + ".db");
  ASSERT_TRUE(store);
  core::WallClock clock;
  AuditTrail trail(**store, clock, "node-a");
  constexpr int kThreads = 16;
  constexpr int kPerThread = 40;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&trail, t] {
        for (int i = 0; i < kPerThread; ++i) {
          core::AuditEntry entry;
          entry.request_id = "req-" + std::to_string(t) + "-" + std::to_string(i);
          entry.method = "GET";
          entry.path = "/api/v1/health";
          entry.status = 200;
          EXPECT_TRUE(trail.Record(entry).has_value());
        }
      });
    }
  }
  std::vector<core::AuditEntry> chain;
  ASSERT_TRUE((*store)
                  ->Audit()
                  .List(0, 0,
                        [&chain](int64_t, const core::AuditEntry& entry) {
                          chain.push_back(entry);
                          return true;
                        })
                  .has_value());
  ASSERT_EQ(chain.size(), std::size_t{kThreads * kPerThread});
  std::set<std::string> requests;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    EXPECT_EQ(chain[i].node, "node-a");
    EXPECT_EQ(chain[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(chain[i].prev_hash, i == 0 ? std::string() : chain[i - 1].hash);
    EXPECT_EQ(chain[i].hash, core::AuditEntryHash(chain[i]));
    requests.insert(chain[i].request_id);
  }
  EXPECT_EQ(requests.size(), chain.size());
}

}  // namespace
}  // namespace runvoy::service
