#include <string>
#include <vector>

#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"

namespace runvoy::providers::sqlite {
namespace {

class SqliteLogRepository final : public contract::LogRepository {
 public:
  explicit SqliteLogRepository(Database& db) : db_(db) {}

  Result<void> Append(const std::string& execution_id,
                      const std::vector<core::LogEvent>& events) override {
    if (events.empty()) {
      return {};
    }
    return db_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(
          stmt,
          c.Prepare(
              "INSERT INTO log_events (execution_id, sequence, timestamp_ms, stream, message, "
              "partial) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (execution_id, sequence) DO "
              "NOTHING"));
      for (const core::LogEvent& event : events) {
        RUNVOY_SQLITE_CHECK(stmt->Bind(1, execution_id)
                                .Bind(2, event.sequence)
                                .Bind(3, event.timestamp_ms)
                                .Bind(4, std::string(core::LogStreamName(event.stream)))
                                .Bind(5, event.message)
                                .Bind(6, int64_t{event.partial ? 1 : 0})
                                .Run());
        stmt->Reset();
      }
      return {};
    });
  }

  Result<void> Read(const std::string& execution_id, int64_t after_sequence, std::size_t limit,
                    const std::function<bool(const core::LogEvent&)>& visit) override {
    return db_.Read<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(
          stmt, c.Prepare("SELECT sequence, timestamp_ms, stream, message, partial FROM log_events "
                          "WHERE execution_id = ? AND sequence > ? ORDER BY sequence LIMIT ?"));
      stmt->Bind(1, execution_id)
          .Bind(2, after_sequence)
          .Bind(3, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
      for (;;) {
        RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
        if (!row) {
          return {};
        }
        core::LogEvent event;
        event.sequence = stmt->Int(0);
        event.timestamp_ms = stmt->Int(1);
        event.stream = core::LogStreamFromName(stmt->Text(2));
        event.message = stmt->Text(3);
        event.partial = stmt->Int(4) != 0;
        if (!visit(event)) {
          return {};
        }
      }
    });
  }

  Result<int64_t> LastSequence(const std::string& execution_id) override {
    return db_.Read<int64_t>([&](Connection& c) -> Result<int64_t> {
      RUNVOY_SQLITE_ASSIGN(
          stmt,
          c.Prepare("SELECT COALESCE(MAX(sequence), 0) FROM log_events WHERE execution_id = ?"));
      RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, execution_id).Step());
      return row ? stmt->Int(0) : int64_t{0};
    });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<contract::LogRepository> MakeLogRepository(Database& db) {
  return std::make_unique<SqliteLogRepository>(db);
}

}  // namespace runvoy::providers::sqlite
