#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "providers/sqlite/repositories.h"
#include "providers/sqlite/rows.h"
#include "providers/stored/run_request_json.h"

namespace runvoy::providers::sqlite {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr const char* kExecutionColumns =
    "execution_id, created_by, command, image_id, started_at, completed_at, status, exit_code, "
    "log_stream_name, created_by_request_id, modified_by_request_id, cloud, node, task_ref, "
    "timeout_seconds, accepted_at, running_at, first_output_at, finished_at, request_json";

core::Execution ExecutionFromRow(const Statement& stmt) {
  core::Execution e;
  e.execution_id = stmt.Text(0);
  e.created_by = stmt.Text(1);
  e.command = stmt.Text(2);
  e.image_id = stmt.Text(3);
  e.started_at = Time(stmt.Int(4));
  e.completed_at = Time(stmt.OptionalInt(5));
  e.status = core::ParseStatus(stmt.Text(6)).value_or(core::ExecutionStatus::kFailed);
  if (auto code = stmt.OptionalInt(7)) {
    e.exit_code = static_cast<int>(*code);
  }
  e.log_stream_name = stmt.Text(8);
  e.created_by_request_id = stmt.Text(9);
  e.modified_by_request_id = stmt.Text(10);
  e.cloud = stmt.Text(11);
  e.node = stmt.Text(12);
  e.task_ref = stmt.Text(13);
  e.timeout_seconds = static_cast<int>(stmt.Int(14));
  e.timings.accepted = Time(stmt.OptionalInt(15));
  e.timings.started = Time(stmt.OptionalInt(16));
  e.timings.first_output = Time(stmt.OptionalInt(17));
  e.timings.finished = Time(stmt.OptionalInt(18));
  e.request = stored::RunRequestFromJson(stmt.Text(19));
  return e;
}

// Binds every column but execution_id, from index `first` on, in kExecutionColumns order.
void BindFields(Statement& stmt, int first, const core::Execution& e) {
  std::optional<int64_t> exit_code;
  if (e.exit_code) {
    exit_code = *e.exit_code;
  }
  stmt.Bind(first, e.created_by)
      .Bind(first + 1, e.command)
      .Bind(first + 2, e.image_id)
      .Bind(first + 3, Millis(e.started_at))
      .Bind(first + 4, Millis(e.completed_at))
      .Bind(first + 5, std::string(core::StatusName(e.status)))
      .Bind(first + 6, exit_code)
      .Bind(first + 7, e.log_stream_name)
      .Bind(first + 8, e.created_by_request_id)
      .Bind(first + 9, e.modified_by_request_id)
      .Bind(first + 10, e.cloud)
      .Bind(first + 11, e.node)
      .Bind(first + 12, e.task_ref)
      .Bind(first + 13, int64_t{e.timeout_seconds})
      .Bind(first + 14, Millis(e.timings.accepted))
      .Bind(first + 15, Millis(e.timings.started))
      .Bind(first + 16, Millis(e.timings.first_output))
      .Bind(first + 17, Millis(e.timings.finished))
      .Bind(first + 18, stored::RunRequestToJson(e.request));
}

// The stored status of an execution, nullopt when it is gone.
Result<std::optional<std::string>> StoredStatus(Connection& c, const std::string& execution_id) {
  RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare("SELECT status FROM executions WHERE execution_id = ?"));
  RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, execution_id).Step());
  if (!row) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(stmt->Text(0));
}

// One SQL text per filter shape, so each shape's statement is prepared once per connection.
// An unknown `before` matches no row, so paging past a vanished cursor ends the listing.
std::string ListSql(const contract::ExecutionFilter& filter) {
  std::string sql = std::string("SELECT ") + kExecutionColumns + " FROM executions WHERE 1";
  if (!filter.statuses.empty()) {
    sql += " AND status IN (?";
    for (std::size_t i = 1; i < filter.statuses.size(); ++i) {
      sql += ", ?";
    }
    sql += ")";
  }
  if (!filter.created_by.empty()) {
    sql += " AND created_by = ?";
  }
  if (!filter.node.empty()) {
    sql += " AND node = ?";
  }
  if (!filter.before.empty()) {
    sql +=
        " AND (started_at, execution_id) < "
        "(SELECT started_at, execution_id FROM executions WHERE execution_id = ?)";
  }
  return sql + " ORDER BY started_at DESC, execution_id DESC LIMIT ?";
}

// Binds the parameters of ListSql(filter) in order.
void BindFilter(Statement& stmt, const contract::ExecutionFilter& filter) {
  int index = 1;
  for (core::ExecutionStatus status : filter.statuses) {
    stmt.Bind(index++, std::string(core::StatusName(status)));
  }
  if (!filter.created_by.empty()) {
    stmt.Bind(index++, filter.created_by);
  }
  if (!filter.node.empty()) {
    stmt.Bind(index++, filter.node);
  }
  if (!filter.before.empty()) {
    stmt.Bind(index++, filter.before);
  }
  stmt.Bind(index, filter.limit == 0 ? int64_t{-1} : static_cast<int64_t>(filter.limit));
}

class SqliteExecutionRepository final : public contract::ExecutionRepository {
 public:
  explicit SqliteExecutionRepository(Database& db) : db_(db) {}

  Result<void> Create(const core::Execution& execution) override {
    return db_.Transact<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(
          stmt, c.Prepare(std::string("INSERT INTO executions (") + kExecutionColumns +
                          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT (execution_id) DO NOTHING"));
      stmt->Bind(1, execution.execution_id);
      BindFields(*stmt, 2, execution);
      RUNVOY_SQLITE_ASSIGN(inserted, stmt->Run());
      if (inserted == 0) {
        return Fail(ErrorCode::kConflict, "execution already exists");
      }
      return WriteOwners(c, kOwnedExecution, execution.execution_id, execution.owned_by);
    });
  }

  Result<std::optional<core::Execution>> Get(const std::string& execution_id) override {
    return db_.Read<std::optional<core::Execution>>(
        [&](Connection& c) -> Result<std::optional<core::Execution>> {
          std::optional<core::Execution> execution;
          {
            RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(std::string("SELECT ") + kExecutionColumns +
                                                 " FROM executions WHERE execution_id = ?"));
            RUNVOY_SQLITE_ASSIGN(row, stmt->Bind(1, execution_id).Step());
            if (!row) {
              return execution;
            }
            execution = ExecutionFromRow(*stmt);
          }
          RUNVOY_SQLITE_ASSIGN(owners, ReadOwners(c, kOwnedExecution, execution_id));
          execution->owned_by = std::move(owners);
          return execution;
        });
  }

  Result<bool> Update(const core::Execution& execution, core::ExecutionStatus expected) override {
    return db_.Transact<bool>([&](Connection& c) -> Result<bool> {
      RUNVOY_SQLITE_ASSIGN(status, StoredStatus(c, execution.execution_id));
      if (!status) {
        return Fail(ErrorCode::kNotFound, "execution not found");
      }
      if (*status != core::StatusName(expected)) {
        return false;
      }
      RUNVOY_SQLITE_ASSIGN(
          stmt,
          c.Prepare(
              "UPDATE executions SET created_by = ?, command = ?, image_id = ?, started_at = ?, "
              "completed_at = ?, status = ?, exit_code = ?, log_stream_name = ?, "
              "created_by_request_id = ?, modified_by_request_id = ?, cloud = ?, node = ?, "
              "task_ref = ?, timeout_seconds = ?, accepted_at = ?, running_at = ?, "
              "first_output_at = ?, finished_at = ?, request_json = ? WHERE execution_id = ?"));
      BindFields(*stmt, 1, execution);
      stmt->Bind(20, execution.execution_id);
      RUNVOY_SQLITE_CHECK(stmt->Run());
      RUNVOY_SQLITE_CHECK(
          WriteOwners(c, kOwnedExecution, execution.execution_id, execution.owned_by));
      return true;
    });
  }

  Result<bool> ChangeNode(const std::string& execution_id, const std::string& from_node,
                          const std::string& to_node) override {
    return db_.Transact<bool>([&](Connection& c) -> Result<bool> {
      RUNVOY_SQLITE_ASSIGN(status, StoredStatus(c, execution_id));
      if (!status) {
        return Fail(ErrorCode::kNotFound, "execution not found");
      }
      RUNVOY_SQLITE_ASSIGN(
          stmt, c.Prepare("UPDATE executions SET node = ? WHERE execution_id = ? AND node = ?"));
      RUNVOY_SQLITE_ASSIGN(changed, stmt->Bind(1, to_node).Bind(2, execution_id)
                                        .Bind(3, from_node).Run());
      return changed == 1;
    });
  }

  Result<void> List(const contract::ExecutionFilter& filter,
                    const std::function<bool(const core::Execution&)>& visit) override {
    return db_.Read<void>([&](Connection& c) -> Result<void> {
      RUNVOY_SQLITE_ASSIGN(stmt, c.Prepare(ListSql(filter)));
      BindFilter(*stmt, filter);
      for (;;) {
        RUNVOY_SQLITE_ASSIGN(row, stmt->Step());
        if (!row) {
          return {};
        }
        core::Execution execution = ExecutionFromRow(*stmt);
        RUNVOY_SQLITE_ASSIGN(owners, ReadOwners(c, kOwnedExecution, execution.execution_id));
        execution.owned_by = std::move(owners);
        if (!visit(execution)) {
          return {};
        }
      }
    });
  }

 private:
  Database& db_;
};

}  // namespace

std::unique_ptr<contract::ExecutionRepository> MakeExecutionRepository(Database& db) {
  return std::make_unique<SqliteExecutionRepository>(db);
}

}  // namespace runvoy::providers::sqlite
