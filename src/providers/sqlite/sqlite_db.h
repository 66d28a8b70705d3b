#pragma once

// The connection layer of the SQLite store: a Database owns one writer connection guarded by a
// mutex plus a pool of reader connections. Writes and read-modify-write transactions run on the
// writer (one at a time, BEGIN IMMEDIATE, so they are serialised across processes too); plain
// reads and streamed listings borrow a reader, so a `visit` callback may call back into the
// store (even write) without deadlocking, and readers never wait for the writer (WAL mode).
// Every connection caches its prepared statements by SQL text.
//
// Nothing here throws; every SQLite failure becomes ErrorCode::kDatabase.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "core/error.h"

namespace runvoy::providers::sqlite {

using core::Result;

// The kDatabase error for a failed SQLite call: a generic message; the details name the
// operation and SQLite's error text, never a bound value.
core::Error DatabaseError(int rc, const std::string& what);

class Connection;

// A cached prepared statement in use. Resets and clears its bindings when destroyed, so the
// next user of the same SQL starts fresh. Indexes are 1-based for Bind, 0-based for columns.
class Statement {
 public:
  Statement(Connection& connection, sqlite3_stmt* stmt) : connection_(connection), stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&&) = delete;
  Statement& operator=(Statement&&) = delete;

  Statement& Bind(int index, const std::string& value);
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::optional<int64_t> value);
  Statement& BindBlob(int index, const std::string& value);
  // Binds NULL when `value` is empty.
  Statement& BindTextOrNull(int index, const std::string& value);
  // Makes the statement ready to run again with new bindings.
  void Reset();

  // True when a row is available, false when done; kDatabase on failure (including a failed
  // bind before it).
  Result<bool> Step();
  // Steps to the end (for statements without rows). Returns the number of changed rows.
  Result<int> Run();

  std::string Text(int column) const;
  int64_t Int(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  bool IsNull(int column) const;

 private:
  Connection& connection_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// One SQLite connection with its statement cache. Not thread-safe: the Database hands each one
// to a single user at a time.
class Connection {
 public:
  // Opens (creating when `create`) the file and sets WAL mode, busy_timeout and foreign keys.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool create,
                                                  std::chrono::milliseconds busy_timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&&) = delete;
  Connection& operator=(Connection&&) = delete;

  // A prepared statement for `sql`, from the cache when prepared before.
  Result<std::unique_ptr<Statement>> Prepare(const std::string& sql);
  // Runs one or more statements without parameters.
  Result<void> Exec(const std::string& sql);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it fails.
  template <typename T>
  Result<T> Transaction(const std::function<Result<T>()>& body);

  sqlite3* Handle() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

template <typename T>
Result<T> Connection::Transaction(const std::function<Result<T>()>& body) {
  if (auto begun = Exec("BEGIN IMMEDIATE"); !begun) {
    return tl::unexpected(begun.error());
  }
  Result<T> result = body();
  if (!result) {
    (void)Exec("ROLLBACK");
    return result;
  }
  if (auto committed = Exec("COMMIT"); !committed) {
    (void)Exec("ROLLBACK");
    return tl::unexpected(committed.error());
  }
  return result;
}

class Database {
 public:
  // Opens `path` (creating it and its schema when needed) and applies pending migrations. A
  // statement that waits for another process's lock longer than `busy_timeout` fails.
  static Result<std::unique_ptr<Database>> Open(
      const std::string& path, std::chrono::milliseconds busy_timeout = kDefaultBusyTimeout);

  static constexpr std::chrono::milliseconds kDefaultBusyTimeout{5000};

  // Runs `work` on the writer connection while holding the writer lock.
  template <typename T>
  Result<T> Write(const std::function<Result<T>(Connection&)>& work) {
    std::scoped_lock lock(writer_mutex_);
    return work(*writer_);
  }
  // Runs `work` inside one transaction on the writer connection while holding the writer lock;
  // commits when it succeeds, rolls back when it fails.
  template <typename T>
  Result<T> Transact(const std::function<Result<T>(Connection&)>& work) {
    std::scoped_lock lock(writer_mutex_);
    return writer_->Transaction<T>([&] { return work(*writer_); });
  }
  // Runs `work` on a reader connection borrowed for the call (opened when none is idle).
  template <typename T>
  Result<T> Read(const std::function<Result<T>(Connection&)>& work) {
    auto reader = Borrow();
    if (!reader) {
      return tl::unexpected(reader.error());
    }
    Result<T> result = work(**reader);
    Return(std::move(*reader));
    return result;
  }

 private:
  Database(std::string path, std::chrono::milliseconds busy_timeout,
           std::unique_ptr<Connection> writer)
      : path_(std::move(path)), busy_timeout_(busy_timeout), writer_(std::move(writer)) {}
  Result<std::unique_ptr<Connection>> Borrow();
  void Return(std::unique_ptr<Connection> reader);

  static constexpr std::size_t kMaxIdleReaders = 4;

  const std::string path_;
  const std::chrono::milliseconds busy_timeout_;
  std::mutex writer_mutex_;  // guards writer_ and its statement cache
  std::unique_ptr<Connection> writer_;
  std::mutex readers_mutex_;  // guards idle_readers_
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace runvoy::providers::sqlite
