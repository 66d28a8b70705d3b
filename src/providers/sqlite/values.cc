// Name → value tables: blobs (opaque bytes) and settings (text).

#include <optional>
#include <string>
#include <vector>

#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"

namespace runvoy::providers::sqlite {
namespace {

class SqliteBlobRepository final : public contract::BlobRepository {
 public:
  explicit SqliteBlobRepository(Database& db) : db_(db) {}

  Result<void> Put(const std::string& name, const std::string& value) override {
    return db_.Write<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt,
                           c.Prepare("INSERT INTO blobs (name, value) VALUES (?, ?) "
                                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value"));
      RUNVOY_SQLITE_CHECK(stmt->Bind(1, name).BindBlob(2, value).Run());
      return {};
    });
  }

  Result<std::optional<std::string>> Get(const std::string& name) override {
    return db_.Read<std::optional<std::string>>(
        [&](Connection& c) -> Result<std::optional<std::string>> {
          RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("SELECT value FROM blobs WHERE name = ?"));
          RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, name).Step());
          if (!row) {
            return std::optional<std::string>();
          }
          return std::optional<std::string>(stmt->Text(0));
        });
  }

  // Removing a missing blob succeeds.
  Result<void> Remove(const std::string& name) override {
    return db_.Write<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("DELETE FROM blobs WHERE name = ?"));
      RUNVOY_SQLITE_CHECK(stmt->Bind(1, name).Run());
      return {};
    });
  }

  Result<std::vector<std::string>> Names() override {
    return db_.Read<std::vector<std::string>>(
        [&](Connection& c) -> Result<std::vector<std::string>> {
          RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("SELECT name FROM blobs ORDER BY name"));
          std::vector<std::string> names;
          for (;;) {
            RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
            if (!row) {
              break;
            }
            names.push_back(stmt->Text(0));
          }
          return names;
        });
  }

 private:
  Database& db_;
};

class SqliteSettingRepository final : public contract::SettingRepository {
 public:
  explicit SqliteSettingRepository(Database& db) : db_(db) {}

  Result<std::optional<std::string>> Get(const std::string& key) override {
    return db_.Read<std::optional<std::string>>(
        [&](Connection& c) -> Result<std::optional<std::string>> {
          RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("SELECT value FROM settings WHERE key = ?"));
          RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, key).Step());
          if (!row) {
            return std::optional<std::string>();
          }
          return std::optional<std::string>(stmt->Text(0));
        });
  }

  Result<void> Put(const std::string& key, const std::string& value) override {
    return db_.Write<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt,
                           c.Prepare("INSERT INTO settings (key, value) VALUES (?, ?) "
                                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
      RUNVOY_SQLITE_CHECK(stmt->Bind(1, key).Bind(2, value).Run());
      return {};
    });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<contract::BlobRepository> MakeBlobRepository(Database& db) {
  return std::make_unique<SqliteBlobRepository>(db);
}

std::unique_ptr<contract::SettingRepository> MakeSettingRepository(Database& db) {
  return std::make_unique<SqliteSettingRepository>(db);
}

}  // namespace runvoy::providers::sqlite
