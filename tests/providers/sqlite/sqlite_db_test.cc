#include "providers/sqlite/sqlite_db.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "core/error.h"
#include "core/records.h"
#include "providers/sqlite/repositories.h"

namespace runvoy::providers::sqlite {
namespace {

using core::ErrorCode;
using namespace std::chrono_literals;

class SqliteDatabaseTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "/runvoy-sqlite-db-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/runvoy.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteDatabaseTest, AWriteThatWaitsPastTheBusyTimeoutIsADatabaseErrorAndReadsGoOn) {
  auto db = Database::Open(path_, 50ms);
  ASSERT_TRUE(db.has_value()) << db.error().details;
  auto settings = MakeSettingRepository(**db);
  ASSERT_TRUE(settings->Put("k", "before").has_value());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO settings VALUES ('x', 'y');", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);

  auto blocked = settings->Put("k", "during");
  ASSERT_FALSE(blocked.has_value());
  EXPECT_EQ(blocked.error().code, ErrorCode::kDatabase);
  auto read = settings->Get("k");
  ASSERT_TRUE(read.has_value() && read->has_value());
  EXPECT_EQ(**read, "before");

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(settings->Put("k", "after").has_value());
  auto after = settings->Get("k");
  ASSERT_TRUE(after.has_value() && after->has_value());
  EXPECT_EQ(**after, "after");
}

TEST_F(SqliteDatabaseTest, AFullDatabaseIsADatabaseErrorAndTheWholeBatchIsRolledBack) {
  auto db = Database::Open(path_);
  ASSERT_TRUE(db.has_value()) << db.error().details;
  // Caps the file a few pages above its current size, so a big batch hits SQLITE_FULL.
  auto capped = (*db)->Write<void>([](Connection& c) -> Result<void> {
    auto pages = c.Prepare("PRAGMA page_count");
    if (!pages) {
      return tl::unexpected(pages.error());
    }
    auto row = (*pages)->Step();
    if (!row || !*row) {
      return core::Fail(ErrorCode::kInternal, "no page count");
    }
    const int64_t count = (*pages)->Int(0);
    pages->reset();
    return c.Exec("PRAGMA max_page_count = " + std::to_string(count + 4));
  });
  ASSERT_TRUE(capped.has_value()) << capped.error().details;
  auto logs = MakeLogRepository(**db);

  std::vector<core::LogEvent> batch;
  for (int i = 1; i <= 50; ++i) {
    batch.push_back(core::LogEvent{i, i, core::LogStream::kStdout, std::string(2000, 'x'), false});
  }
  auto appended = logs->Append("e", batch);
  ASSERT_FALSE(appended.has_value());
  EXPECT_EQ(appended.error().code, ErrorCode::kDatabase);
  EXPECT_EQ(appended.error().message, "database error");
  auto last = logs->LastSequence("e");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 0);

  ASSERT_TRUE(logs->Append("e", {core::LogEvent{1, 1, core::LogStream::kStdout, "small", false}})
                  .has_value());
  EXPECT_EQ(*logs->LastSequence("e"), 1);
}

TEST_F(SqliteDatabaseTest, AReaderOpenedAfterTheFileVanishedIsADatabaseError) {
  auto db = Database::Open(path_);
  ASSERT_TRUE(db.has_value());
  std::filesystem::remove_all(dir_);
  // The writer keeps its open file; a new reader cannot open the missing path.
  auto read = (*db)->Read<int>([](Connection&) -> Result<int> { return 1; });
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, ErrorCode::kDatabase);
}

}  // namespace
}  // namespace runvoy::providers::sqlite
