#include <algorithm>
#include <string>
#include <vector>

#include "providers/postgres/repositories.h"

namespace runvoy::providers::postgres {
namespace {

constexpr const char* kInsert =
    "INSERT INTO log_events (execution_id, sequence, timestamp_ms, stream, message, partial) "
    "SELECT $1, s, t, st, m, p FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::bytea[], "
    "$6::boolean[]) AS e (s, t, st, m, p)";

class PostgresLogRepository final : public contract::LogRepository {
 public:
  explicit PostgresLogRepository(Pool& pool) : pool_(pool) {}

  // One statement whatever the batch size: the events travel as five arrays that unnest()
  // turns back into rows. Rows go in in ascending sequence order, so two servers re-delivering
  // overlapping batches wait on each other in one direction only (never a deadlock), and
  // ON CONFLICT skips what is stored already.
  Result<void> Append(const std::string& execution_id,
                      const std::vector<core::LogEvent>& events) override {
    if (events.empty()) {
      return {};
    }
    std::vector<const core::LogEvent*> sorted;
    sorted.reserve(events.size());
    for (const core::LogEvent& event : events) {
      sorted.push_back(&event);
    }
    std::stable_sort(
        sorted.begin(), sorted.end(),
        [](const core::LogEvent* a, const core::LogEvent* b) { return a->sequence < b->sequence; });
    std::vector<int64_t> sequences;
    std::vector<int64_t> timestamps;
    std::vector<std::string> streams;
    std::vector<std::string> messages;
    std::vector<bool> partials;
    for (const core::LogEvent* event : sorted) {
      if (!sequences.empty() && sequences.back() == event->sequence) {
        continue;  // first wins
      }
      sequences.push_back(event->sequence);
      timestamps.push_back(event->timestamp_ms);
      streams.emplace_back(core::LogStreamName(event->stream));
      messages.push_back(event->message);
      partials.push_back(event->partial);
    }
    Params params;
    params.Add(execution_id)
        .AddIntArray(sequences)
        .AddIntArray(timestamps)
        .AddTextArray(streams)
        .AddBytesArray(messages)
        .AddBoolArray(partials);
    return pool_.Run<void>([&](Connection& c) -> Result<void> {
      // New events are the common case, and a plain INSERT is much cheaper than ON CONFLICT's
      // speculative insertion; a re-delivery makes it fail with a unique violation (having
      // written nothing) and the batch goes again skipping what is stored.
      auto fresh = c.Query(std::string(kInsert) + " ORDER BY s", params);
      if (fresh || c.LastSqlState() != kUniqueViolation) {
        if (!fresh) {
          return tl::unexpected(fresh.error());
        }
        return {};
      }
      RUNVOY_PG_CHECK(c.Query(
          std::string(kInsert) + " ORDER BY s ON CONFLICT (execution_id, sequence) DO NOTHING",
          params));
      return {};
    });
  }

  // Keyset chunks of kFetchChunk rows; no connection is held while `visit` runs.
  Result<void> Read(const std::string& execution_id, int64_t after_sequence, std::size_t limit,
                    const std::function<bool(const core::LogEvent&)>& visit) override {
    int64_t after = after_sequence;
    std::size_t remaining = limit;  // 0 = all
    for (;;) {
      const int64_t chunk = limit == 0
                                ? kFetchChunk
                                : std::min<int64_t>(kFetchChunk, static_cast<int64_t>(remaining));
      auto rows = pool_.Run<Rows>(
          [&](Connection& c) {
            return c.Query(
                "SELECT sequence, timestamp_ms, stream, message, partial FROM log_events "
                "WHERE execution_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
                Params().Add(execution_id).Add(after).Add(chunk));
          },
          /*is_read=*/true);
      if (!rows) {
        return tl::unexpected(rows.error());
      }
      for (int r = 0; r < rows->Count(); ++r) {
        core::LogEvent event;
        event.sequence = rows->Int(r, 0);
        event.timestamp_ms = rows->Int(r, 1);
        event.stream = core::LogStreamFromName(rows->Text(r, 2));
        event.message = rows->Bytes(r, 3);
        event.partial = rows->Bool(r, 4);
        after = event.sequence;
        if (!visit(event)) {
          return {};
        }
      }
      if (rows->Count() < chunk) {
        return {};
      }
      if (limit != 0) {
        remaining -= static_cast<std::size_t>(rows->Count());
        if (remaining == 0) {
          return {};
        }
      }
    }
  }

  Result<int64_t> LastSequence(const std::string& execution_id) override {
    return pool_.Run<int64_t>(
        [&](Connection& c) -> Result<int64_t> {
          RUNVOY_PG_ASSIGN(rows, c.Query("SELECT COALESCE(MAX(sequence), 0) FROM log_events "
                                         "WHERE execution_id = $1",
                                         Params().Add(execution_id)));
          return rows.Empty() ? int64_t{0} : rows.Int(0, 0);
        },
        true);
  }

 private:
  Pool& pool_;
};

}  // namespace

std::unique_ptr<contract::LogRepository> MakeLogRepository(Pool& pool) {
  return std::make_unique<PostgresLogRepository>(pool);
}

}  // namespace runvoy::providers::postgres
