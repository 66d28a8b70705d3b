#include "providers/sqlite/sqlite_store.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "contract/registry.h"
#include "core/error.h"
#include "providers/sqlite/migrations.h"

namespace runvoy::providers::sqlite {
namespace {

using core::ErrorCode;

class SqliteStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "/runvoy-sqlite-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/runvoy.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Runs `sql` on a separate raw connection and returns the first column of every row.
  std::vector<std::string> Query(const std::string& sql) {
    std::vector<std::string> values;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      values.emplace_back(text == nullptr ? "" : text);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return values;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, OpeningCreatesTheFileAndRecordsEveryMigration) {
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.has_value()) << store.error().details;
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ((*store)->Name(), "sqlite");
  EXPECT_FALSE((*store)->IsShared());
  const auto versions = Query("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_EQ(versions.size(), Migrations().size());
  for (std::size_t i = 0; i < versions.size(); ++i) {
    EXPECT_EQ(versions[i], std::to_string(Migrations()[i].version));
  }
  const auto applied = Query("SELECT applied_at FROM schema_migrations WHERE applied_at > 0");
  EXPECT_EQ(applied.size(), Migrations().size());
}

TEST_F(SqliteStoreTest, OpeningTwiceAppliesNoMigrationAgainAndKeepsTheData) {
  {
    auto store = OpenSqliteStore(path_);
    ASSERT_TRUE(store.has_value());
    ASSERT_TRUE((*store)->Settings().Put("k", "v").has_value());
  }
  const auto first = Query("SELECT version || ':' || applied_at FROM schema_migrations");
  auto reopened = OpenSqliteStore(path_);
  ASSERT_TRUE(reopened.has_value()) << reopened.error().details;
  EXPECT_EQ(Query("SELECT version || ':' || applied_at FROM schema_migrations"), first);
  auto value = (*reopened)->Settings().Get("k");
  ASSERT_TRUE(value.has_value() && value->has_value());
  EXPECT_EQ(**value, "v");
}

TEST_F(SqliteStoreTest, ADatabaseOfTheFirstSchemaIsUpgradedWithItsRowsKept) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const std::string first_schema =
        Migrations().front().sql +
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL);"
        "INSERT INTO schema_migrations VALUES (1, 'initial schema', 1);"
        "INSERT INTO idempotency_keys VALUES ('dev@example.com', 'key-1', 'exec-1', '{}', 5000);";
    EXPECT_EQ(sqlite3_exec(db, first_schema.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.has_value()) << store.error().details;
  EXPECT_EQ(Query("SELECT count(*) FROM schema_migrations"),
            (std::vector<std::string>{std::to_string(Migrations().size())}));
  auto kept = (*store)->Idempotency().Get("dev@example.com", "key-1");
  ASSERT_TRUE(kept.has_value() && kept->has_value()) << (kept ? "" : kept.error().details);
  EXPECT_EQ((*kept)->execution_id, "exec-1");
}

TEST_F(SqliteStoreTest, TwoStoresOnOneFileBothOpen) {
  auto first = OpenSqliteStore(path_);
  ASSERT_TRUE(first.has_value());
  auto second = OpenSqliteStore(path_);
  ASSERT_TRUE(second.has_value()) << second.error().details;
  ASSERT_TRUE((*first)->Blobs().Put("x", "1").has_value());
  auto seen = (*second)->Blobs().Get("x");
  ASSERT_TRUE(seen.has_value() && seen->has_value());
  EXPECT_EQ(**seen, "1");
}

TEST_F(SqliteStoreTest, TheDatabaseRunsInWalMode) {
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.has_value());
  EXPECT_EQ(Query("PRAGMA journal_mode"), (std::vector<std::string>{"wal"}));
}

TEST_F(SqliteStoreTest, OwnersAreKeptInTheOwnershipTableInOrder) {
  auto store = OpenSqliteStore(path_);
  ASSERT_TRUE(store.has_value());
  core::Secret secret;
  secret.name = "db";
  secret.created_by = "b@example.com";
  secret.owned_by = {"b@example.com", "a@example.com"};
  ASSERT_TRUE((*store)->Secrets().Create(secret).has_value());
  EXPECT_EQ(Query("SELECT email FROM ownership WHERE resource_type = 'secret' AND "
                  "resource_id = 'db' ORDER BY position"),
            (std::vector<std::string>{"b@example.com", "a@example.com"}));
  ASSERT_TRUE((*store)->Secrets().Remove("db").has_value());
  EXPECT_TRUE(Query("SELECT email FROM ownership").empty());
}

TEST_F(SqliteStoreTest, AnUnwritablePathIsADatabaseError) {
  // A regular file where a directory should be: no user, root included, can create below it.
  const std::string file = dir_ + "/not-a-directory";
  std::ofstream(file) << "x";
  auto store = OpenSqliteStore(file + "/runvoy.db");
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kDatabase);
  EXPECT_FALSE(store.error().message.empty());
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsADatabaseError) {
  std::ofstream(path_) << std::string(4096, 'g');
  auto store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kDatabase);
}

TEST_F(SqliteStoreTest, RegisterAddsTheSqliteStoreWithItsPathKey) {
  contract::Registry registry;
  Register(registry);
  EXPECT_EQ(registry.Keys(contract::ProviderKind::kStore, "sqlite"),
            (std::vector<std::string>{"path"}));
  contract::ProviderContext context;
  context.data_dir = dir_;
  auto store = registry.MakeStore("sqlite", context);
  ASSERT_TRUE(store.has_value()) << store.error().details;
  EXPECT_EQ((*store)->Name(), "sqlite");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/runvoy.db"));
}

TEST_F(SqliteStoreTest, RegisterHonoursAConfiguredPath) {
  contract::Registry registry;
  Register(registry);
  contract::ProviderContext context;
  context.data_dir = dir_ + "/unused";
  context.section["path"] = dir_ + "/custom.db";
  auto store = registry.MakeStore("sqlite", context);
  ASSERT_TRUE(store.has_value()) << store.error().details;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/custom.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/unused"));
}

}  // namespace
}  // namespace runvoy::providers::sqlite
