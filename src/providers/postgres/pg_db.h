#pragma once

// The connection layer of the PostgreSQL store (libpq): parameters, results, one connection
// with its prepared-statement cache, and a bounded pool of connections.
//
// Every value reaches the server as a bound parameter of a prepared statement; SQL text is
// only ever built from constant fragments. Nothing here throws. A server that cannot be
// reached, a lost connection or a full pool answers ErrorCode::kDatabase with a message that
// starts "database unavailable"; a failed statement answers kDatabase "database error" (the
// details carry the SQLSTATE and the server's primary message, never a bound value).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "core/error.h"

namespace runvoy::providers::postgres {

using core::Result;

// SQLSTATEs the repositories react to.
inline constexpr const char* kUniqueViolation = "23505";
inline constexpr const char* kSerializationFailure = "40001";
inline constexpr const char* kDeadlockDetected = "40P01";

// How connections are made. `dsn` is a libpq connection string or URI.
struct ConnectSettings {
  std::string dsn;
  // Used when the DSN names no connect_timeout; `connect_timeout_explicit` makes it override
  // the DSN's own value.
  std::chrono::seconds connect_timeout{5};
  bool connect_timeout_explicit = false;
  // Set on every connection (the server cancels a statement running longer).
  std::chrono::milliseconds statement_timeout{30000};
};

// The bound values of one statement, in $1, $2, ... order.
class Params {
 public:
  Params& Add(const std::string& text);
  Params& Add(const char* text) { return Add(std::string(text)); }
  Params& Add(int64_t value);
  Params& Add(std::optional<int64_t> value);
  Params& Add(bool value);
  // NULL when `text` is empty.
  Params& AddTextOrNull(const std::string& text);
  // Raw bytes for a bytea parameter (sent in binary format, so any byte is kept).
  Params& AddBytes(const std::string& bytes);
  // A text[] parameter (cast the placeholder: $n::text[]).
  Params& AddTextArray(const std::vector<std::string>& items);
  // Arrays for unnest(): bigint[] and boolean[] (cast the placeholder likewise).
  Params& AddIntArray(const std::vector<int64_t>& items);
  // A bytea[] parameter in binary format (cast the placeholder: $n::bytea[]): any byte, NUL
  // included, and nothing to escape.
  Params& AddBytesArray(const std::vector<std::string>& items);
  Params& AddBoolArray(const std::vector<bool>& items);

  int Count() const { return static_cast<int>(values_.size()); }
  const std::vector<std::optional<std::string>>& Values() const { return values_; }
  const std::vector<int>& Formats() const { return formats_; }

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
};

// The rows of a statement that succeeded. Columns are 0-based.
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result, &PQclear) {}

  int Count() const { return PQntuples(result_.get()); }
  bool Empty() const { return Count() == 0; }
  // The number of rows the statement changed (INSERT/UPDATE/DELETE).
  int64_t Affected() const;

  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  std::optional<int64_t> OptionalInt(int row, int column) const;
  bool Bool(int row, int column) const;
  // A bytea column in the text (hex) output format.
  std::string Bytes(int row, int column) const;
  // A text[] column.
  std::vector<std::string> TextArray(int row, int column) const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

// One server connection. Not thread-safe: the pool hands it to one user at a time.
class Connection {
 public:
  // Connects and sets the statement timeout. kDatabase "database unavailable: ..." on failure.
  static Result<std::unique_ptr<Connection>> Open(const ConnectSettings& settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;
  Connection& operator=(Connection&&) = delete;

  // Runs `sql` (prepared once per connection, then reused) with `params`.
  Result<Rows> Query(const std::string& sql, const Params& params = {});
  // Runs one or more statements without parameters (transaction control, DDL).
  Result<void> Exec(const std::string& sql);

  // The SQLSTATE of the last failed statement ("" when it succeeded or the link failed).
  const std::string& LastSqlState() const { return last_sql_state_; }
  // True when the link to the server is gone (the connection must be dropped).
  bool Broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // True when the connection sits outside any transaction.
  bool Idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  // A non-blocking check of an idle connection: false when the server closed it or sent
  // anything (an idle connection that does not LISTEN receives nothing unless it is ending).
  bool LooksAlive() const;

  PGconn* Handle() { return conn_; }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  Result<void> Failed(PGresult* result, const std::string& what);

  PGconn* conn_;
  std::map<std::string, std::string> prepared_;  // SQL text → statement name
  std::string last_sql_state_;
};

// Opens a libpq connection with runvoy's defaults (connect timeout, TCP keepalives); the
// caller owns it (PQfinish). Shared by the pool and the notifier's listening connection. With
// `start_only` it only starts connecting (PQconnectStartParams): the caller drives
// PQconnectPoll and enforces the connect timeout itself.
PGconn* ConnectRaw(const ConnectSettings& settings, bool start_only = false);
// The first line of libpq's message about `conn`'s failure.
std::string ConnectionErrorText(PGconn* conn);
core::Error Unavailable(const std::string& why);

struct PoolOptions {
  ConnectSettings connect;
  std::size_t max_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
};

// A bounded pool. Acquire waits up to acquire_timeout for a free slot; an idle connection the
// server closed (a restart) is dropped and replaced on the next use. Thread-safe.
class Pool {
 public:
  explicit Pool(PoolOptions options) : options_(std::move(options)) {}
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  Pool(Pool&&) = delete;
  Pool& operator=(Pool&&) = delete;

  // Runs `work` on a pooled connection outside any explicit transaction (each statement
  // commits on its own). A read that finds its connection lost is tried once more on a fresh
  // one; writes are not, since the server may have applied them.
  template <typename T>
  Result<T> Run(const std::function<Result<T>(Connection&)>& work, bool is_read = false);
  // Runs `work` in one SERIALIZABLE transaction; retried from the start (with a short jittered
  // backoff) when the server reports a serialization failure or deadlock. A unique violation
  // that escapes `work` becomes kConflict.
  template <typename T>
  Result<T> Transact(const std::function<Result<T>(Connection&)>& work);

  const PoolOptions& Options() const { return options_; }
  // The number of connections open now (idle or in use).
  std::size_t OpenCount();

 private:
  // A connection borrowed from the pool; given back when destroyed.
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (connection_) {
        pool_->Release(std::move(connection_));
      }
    }
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  Result<Lease> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  static bool Retryable(const Connection& connection, const core::Error& error);
  static void Backoff(int attempt);

  const PoolOptions options_;
  std::mutex mutex_;  // guards idle_ and open_
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // connections counted against max_size (idle, in use, or opening)
};

template <typename T>
Result<T> Pool::Run(const std::function<Result<T>(Connection&)>& work, bool is_read) {
  for (int attempt = 0;; ++attempt) {
    auto lease = Acquire();
    if (!lease) {
      return tl::unexpected(lease.error());
    }
    Result<T> result = work(**lease);
    if (!result && is_read && attempt == 0 && (*lease)->Broken()) {
      continue;
    }
    return result;
  }
}

template <typename T>
Result<T> Pool::Transact(const std::function<Result<T>(Connection&)>& work) {
  constexpr int kMaxAttempts = 40;
  for (int attempt = 0;; ++attempt) {
    auto lease = Acquire();
    if (!lease) {
      return tl::unexpected(lease.error());
    }
    Connection& c = **lease;
    if (auto begun = c.Exec("BEGIN ISOLATION LEVEL SERIALIZABLE"); !begun) {
      return tl::unexpected(begun.error());
    }
    Result<T> result = work(c);
    core::Error error;
    if (result) {
      auto committed = c.Exec("COMMIT");
      if (committed) {
        return result;
      }
      error = committed.error();
    } else {
      error = result.error();
    }
    const bool retry = Retryable(c, error) && attempt + 1 < kMaxAttempts;
    const bool duplicate =
        error.code == core::ErrorCode::kDatabase && c.LastSqlState() == kUniqueViolation;
    if (!c.Broken() && !c.Idle()) {
      (void)c.Exec("ROLLBACK");
    }
    if (retry) {
      Backoff(attempt);
      continue;
    }
    if (duplicate) {
      return core::Fail(core::ErrorCode::kConflict, "already exists");
    }
    return tl::unexpected(error);
  }
}

}  // namespace runvoy::providers::postgres
