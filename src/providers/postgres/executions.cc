#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "providers/postgres/repositories.h"
#include "providers/stored/run_request_json.h"

namespace runvoy::providers::postgres {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr const char* kExecutionColumns =
    "execution_id, created_by, command, image_id, started_at, completed_at, status, exit_code, "
    "log_stream_name, created_by_request_id, modified_by_request_id, cloud, node, task_ref, "
    "timeout_seconds, accepted_at, running_at, first_output_at, finished_at, request_json, "
    "owned_by";

core::Execution ExecutionFromRow(const Rows& rows, int r) {
  core::Execution e;
  e.execution_id = rows.Text(r, 0);
  e.created_by = rows.Text(r, 1);
  e.command = rows.Text(r, 2);
  e.image_id = rows.Text(r, 3);
  e.started_at = Time(rows.Int(r, 4));
  e.completed_at = Time(rows.OptionalInt(r, 5));
  e.status = core::ParseStatus(rows.Text(r, 6)).value_or(core::ExecutionStatus::kFailed);
  if (auto code = rows.OptionalInt(r, 7)) {
    e.exit_code = static_cast<int>(*code);
  }
  e.log_stream_name = rows.Text(r, 8);
  e.created_by_request_id = rows.Text(r, 9);
  e.modified_by_request_id = rows.Text(r, 10);
  e.cloud = rows.Text(r, 11);
  e.node = rows.Text(r, 12);
  e.task_ref = rows.Text(r, 13);
  e.timeout_seconds = static_cast<int>(rows.Int(r, 14));
  e.timings.accepted = Time(rows.OptionalInt(r, 15));
  e.timings.started = Time(rows.OptionalInt(r, 16));
  e.timings.first_output = Time(rows.OptionalInt(r, 17));
  e.timings.finished = Time(rows.OptionalInt(r, 18));
  e.request = stored::RunRequestFromJson(rows.Text(r, 19));
  e.owned_by = rows.TextArray(r, 20);
  return e;
}

// Adds every column but execution_id, in kExecutionColumns order (20 parameters).
void AddFields(Params& params, const core::Execution& e) {
  std::optional<int64_t> exit_code;
  if (e.exit_code) {
    exit_code = *e.exit_code;
  }
  params.Add(e.created_by)
      .Add(e.command)
      .Add(e.image_id)
      .Add(Millis(e.started_at))
      .Add(Millis(e.completed_at))
      .Add(std::string(core::StatusName(e.status)))
      .Add(exit_code)
      .Add(e.log_stream_name)
      .Add(e.created_by_request_id)
      .Add(e.modified_by_request_id)
      .Add(e.cloud)
      .Add(e.node)
      .Add(e.task_ref)
      .Add(int64_t{e.timeout_seconds})
      .Add(Millis(e.timings.accepted))
      .Add(Millis(e.timings.started))
      .Add(Millis(e.timings.first_output))
      .Add(Millis(e.timings.finished))
      .Add(stored::RunRequestToJson(e.request))
      .AddTextArray(e.owned_by);
}

Result<bool> Exists(Connection& c, const std::string& execution_id) {
  RUNVOY_PG_ASSIGN(rows, c.Query("SELECT 1 FROM executions WHERE execution_id = $1",
                                 Params().Add(execution_id)));
  return !rows.Empty();
}

// Where the next chunk of a listing starts: before the execution named by the filter (first
// chunk) or before the last row seen (later chunks).
struct ListCursor {
  std::optional<std::pair<int64_t, std::string>> after_row;
};

// One chunk of a listing as SQL (constant fragments and placeholders only) and its values.
std::pair<std::string, Params> ChunkQuery(const contract::ExecutionFilter& filter,
                                          const ListCursor& cursor, int64_t chunk) {
  std::string sql = std::string("SELECT ") + kExecutionColumns + " FROM executions WHERE TRUE";
  Params params;
  auto next = [&params] { return "$" + std::to_string(params.Count() + 1); };
  if (!filter.statuses.empty()) {
    sql += " AND status IN (";
    for (std::size_t i = 0; i < filter.statuses.size(); ++i) {
      sql += (i == 0 ? "" : ", ") + next();
      params.Add(std::string(core::StatusName(filter.statuses[i])));
    }
    sql += ")";
  }
  if (!filter.created_by.empty()) {
    sql += " AND created_by = " + next();
    params.Add(filter.created_by);
  }
  if (!filter.node.empty()) {
    sql += " AND node = " + next();
    params.Add(filter.node);
  }
  if (cursor.after_row) {
    const std::string started = next();
    params.Add(cursor.after_row->first);
    sql += " AND (started_at, execution_id) < (" + started + "::bigint, " + next() + ")";
    params.Add(cursor.after_row->second);
  } else if (!filter.before.empty()) {
    // An unknown `before` compares with NULL and matches no row, so paging past a vanished
    // cursor ends the listing.
    sql +=
        " AND (started_at, execution_id) < (SELECT started_at, execution_id FROM executions "
        "WHERE execution_id = " +
        next() + ")";
    params.Add(filter.before);
  }
  sql += " ORDER BY started_at DESC, execution_id DESC LIMIT " + next();
  params.Add(chunk);
  return {sql, std::move(params)};
}

class PostgresExecutionRepository final : public contract::ExecutionRepository {
 public:
  explicit PostgresExecutionRepository(Pool& pool) : pool_(pool) {}

  Result<void> Create(const core::Execution& execution) override {
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      Params params;
      params.Add(execution.execution_id);
      AddFields(params, execution);
      RUNVOY_PG_ASSIGN(
          rows,
          c.Query(std::string("INSERT INTO executions (") + kExecutionColumns +
                      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
                      "$16, $17, $18, $19, $20, $21::text[]) ON CONFLICT (execution_id) DO NOTHING",
                  params));
      if (rows.Affected() == 0) {
        return Fail(ErrorCode::kConflict, "execution already exists");
      }
      return {};
    });
  }

  Result<std::optional<core::Execution>> Get(const std::string& execution_id) override {
    return pool_.Run<std::optional<core::Execution>>(
        [&](Connection& c) -> Result<std::optional<core::Execution>> {
          RUNVOY_PG_ASSIGN(rows, c.Query(std::string("SELECT ") + kExecutionColumns +
                                             " FROM executions WHERE execution_id = $1",
                                         Params().Add(execution_id)));
          if (rows.Empty()) {
            return std::optional<core::Execution>();
          }
          return std::optional<core::Execution>(ExecutionFromRow(rows, 0));
        },
        /*is_read=*/true);
  }

  // One conditional UPDATE: under READ COMMITTED a racing writer waits for the row lock and
  // re-checks the status against the committed row, so exactly one of them wins.
  Result<bool> Update(const core::Execution& execution, core::ExecutionStatus expected) override {
    return pool_.Run<bool>([&](Connection& c) -> Result<bool> {
      Params params;
      AddFields(params, execution);
      params.Add(execution.execution_id).Add(std::string(core::StatusName(expected)));
      RUNVOY_PG_ASSIGN(
          rows,
          c.Query("UPDATE executions SET created_by = $1, command = $2, image_id = $3, "
                  "started_at = $4, completed_at = $5, status = $6, exit_code = $7, "
                  "log_stream_name = $8, created_by_request_id = $9, modified_by_request_id = $10, "
                  "cloud = $11, node = $12, task_ref = $13, timeout_seconds = $14, "
                  "accepted_at = $15, running_at = $16, first_output_at = $17, finished_at = $18, "
                  "request_json = $19, owned_by = $20::text[] "
                  "WHERE execution_id = $21 AND status = $22",
                  params));
      if (rows.Affected() == 1) {
        return true;
      }
      RUNVOY_PG_ASSIGN(exists, Exists(c, execution.execution_id));
      if (!exists) {
        return Fail(ErrorCode::kNotFound, "execution not found");
      }
      return false;
    });
  }

  Result<bool> ChangeNode(const std::string& execution_id, const std::string& from_node,
                          const std::string& to_node) override {
    return pool_.Run<bool>([&](Connection& c) -> Result<bool> {
      RUNVOY_PG_ASSIGN(rows, c.Query("UPDATE executions SET node = $1 WHERE execution_id = $2 "
                                     "AND node = $3",
                                     Params().Add(to_node).Add(execution_id).Add(from_node)));
      if (rows.Affected() == 1) {
        return true;
      }
      RUNVOY_PG_ASSIGN(exists, Exists(c, execution_id));
      if (!exists) {
        return Fail(ErrorCode::kNotFound, "execution not found");
      }
      return false;
    });
  }

  // Keyset pagination in chunks: no connection or snapshot is held while `visit` runs, so it
  // may call back into the store.
  Result<void> List(const contract::ExecutionFilter& filter,
                    const std::function<bool(const core::Execution&)>& visit) override {
    ListCursor cursor;
    std::size_t remaining = filter.limit;  // 0 = all
    for (;;) {
      const int64_t chunk = filter.limit == 0
                                ? kFetchChunk
                                : std::min<int64_t>(kFetchChunk, static_cast<int64_t>(remaining));
      const auto query = ChunkQuery(filter, cursor, chunk);
      auto rows = pool_.Run<Rows>([&](Connection& c) { return c.Query(query.first, query.second); },
                                  /*is_read=*/true);
      if (!rows) {
        return tl::unexpected(rows.error());
      }
      for (int r = 0; r < rows->Count(); ++r) {
        const core::Execution execution = ExecutionFromRow(*rows, r);
        cursor.after_row = std::make_pair(Millis(execution.started_at), execution.execution_id);
        if (!visit(execution)) {
          return {};
        }
      }
      if (rows->Count() < chunk) {
        return {};
      }
      if (filter.limit != 0) {
        remaining -= static_cast<std::size_t>(rows->Count());
        if (remaining == 0) {
          return {};
        }
      }
    }
  }

 private:
  Pool& pool_;
};

}  // namespace

std::unique_ptr<contract::ExecutionRepository> MakeExecutionRepository(Pool& pool) {
  return std::make_unique<PostgresExecutionRepository>(pool);
}

}  // namespace runvoy::providers::postgres
