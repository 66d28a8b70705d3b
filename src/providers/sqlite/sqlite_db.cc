#include "providers/sqlite/sqlite_db.h"

#include <utility>

#include "providers/sqlite/migrations.h"

namespace runvoy::providers::sqlite {
core::Error DatabaseError(int rc, const std::string& what) {
  return core::Error{core::ErrorCode::kDatabase, "database error",
                     what + ": " + sqlite3_errstr(rc)};
}

Statement::~Statement() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

Statement& Statement::Bind(int index, const std::string& value) {
  const int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

Statement& Statement::Bind(int index, std::optional<int64_t> value) {
  const int rc = value ? sqlite3_bind_int64(stmt_, index, *value) : sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

Statement& Statement::BindTextOrNull(int index, const std::string& value) {
  if (!value.empty()) {
    return Bind(index, value);
  }
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

Statement& Statement::BindBlob(int index, const std::string& value) {
  const int rc = sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()),
                                   SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return tl::unexpected(DatabaseError(bind_rc_, "bind"));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return tl::unexpected(DatabaseError(rc, "step"));
}

Result<int> Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) {
      return tl::unexpected(row.error());
    }
    if (!*row) {
      break;
    }
  }
  return sqlite3_changes(connection_.Handle());
}

std::string Statement::Text(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::optional<int64_t> Statement::OptionalInt(int column) const {
  if (IsNull(column)) {
    return std::nullopt;
  }
  return sqlite3_column_int64(stmt_, column);
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool create,
                                                     std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    return tl::unexpected(core::Error{core::ErrorCode::kDatabase, "cannot open the database",
                                      std::string("open: ") + sqlite3_errstr(rc)});
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  std::unique_ptr<Connection> connection(new Connection(db));
  // WAL lets readers run beside the writer; NORMAL sync is durable enough in WAL mode.
  auto mode = connection->Prepare("PRAGMA journal_mode=WAL");
  if (!mode) {
    return tl::unexpected(mode.error());
  }
  auto row = (*mode)->Step();
  if (!row) {
    return tl::unexpected(row.error());
  }
  if (!*row || (*mode)->Text(0) != "wal") {
    return tl::unexpected(core::Error{core::ErrorCode::kDatabase, "cannot open the database",
                                      "WAL journal mode unavailable"});
  }
  mode->reset();
  auto pragmas = connection->Exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;");
  if (!pragmas) {
    return tl::unexpected(pragmas.error());
  }
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Statement>> Connection::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return tl::unexpected(DatabaseError(rc, "prepare"));
    }
    it = statements_.emplace(sql, stmt).first;
  }
  return std::make_unique<Statement>(*this, it->second);
}

Result<void> Connection::Exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return tl::unexpected(DatabaseError(rc, "exec"));
  }
  return {};
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 std::chrono::milliseconds busy_timeout) {
  auto writer = Connection::Open(path, /*create=*/true, busy_timeout);
  if (!writer) {
    return tl::unexpected(writer.error());
  }
  if (auto migrated = ApplyMigrations(**writer); !migrated) {
    return tl::unexpected(migrated.error());
  }
  return std::unique_ptr<Database>(new Database(path, busy_timeout, std::move(*writer)));
}

Result<std::unique_ptr<Connection>> Database::Borrow() {
  {
    std::scoped_lock lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  return Connection::Open(path_, /*create=*/false, busy_timeout_);
}

void Database::Return(std::unique_ptr<Connection> reader) {
  std::scoped_lock lock(readers_mutex_);
  if (idle_readers_.size() < kMaxIdleReaders) {
    idle_readers_.push_back(std::move(reader));
  }
}

}  // namespace runvoy::providers::sqlite
