#include "providers/postgres/pg_db.h"

#include <cstdlib>
#include <random>
#include <thread>
#include <utility>

#include <poll.h>

namespace runvoy::providers::postgres {
namespace {

std::string FirstLine(const char* text) {
  std::string line = text == nullptr ? std::string() : std::string(text);
  if (const auto end = line.find('\n'); end != std::string::npos) {
    line.resize(end);
  }
  return line;
}

// Array literal element: always quoted, so only '"' and '\' need escaping.
void AppendQuoted(std::string& out, const std::string& item) {
  out += '"';
  for (const char ch : item) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
    }
    out += ch;
  }
  out += '"';
}

int HexValue(char ch) {
  if (ch >= '0' && ch <= '9') {
    return ch - '0';
  }
  if (ch >= 'a' && ch <= 'f') {
    return ch - 'a' + 10;
  }
  if (ch >= 'A' && ch <= 'F') {
    return ch - 'A' + 10;
  }
  return 0;
}

}  // namespace

core::Error Unavailable(const std::string& why) {
  // libpq says 'connection to server at "host", port N failed: Connection refused': the
  // message keeps the cause, the details the whole line.
  const std::string marker = "failed: ";
  const auto cause = why.rfind(marker);
  const std::string shown = cause == std::string::npos ? why : why.substr(cause + marker.size());
  return core::Error{core::ErrorCode::kDatabase, "database unavailable: " + shown, why};
}

std::string ConnectionErrorText(PGconn* conn) {
  std::string text = FirstLine(conn == nullptr ? "out of memory" : PQerrorMessage(conn));
  return text.empty() ? std::string("connection lost") : text;
}

Params& Params::Add(const std::string& text) {
  values_.emplace_back(text);
  formats_.push_back(0);
  return *this;
}

Params& Params::Add(int64_t value) {
  return Add(std::to_string(value));
}

Params& Params::Add(std::optional<int64_t> value) {
  if (value) {
    return Add(*value);
  }
  values_.emplace_back(std::nullopt);
  formats_.push_back(0);
  return *this;
}

Params& Params::Add(bool value) {
  return Add(std::string(value ? "t" : "f"));
}

Params& Params::AddTextOrNull(const std::string& text) {
  if (!text.empty()) {
    return Add(text);
  }
  values_.emplace_back(std::nullopt);
  formats_.push_back(0);
  return *this;
}

Params& Params::AddBytes(const std::string& bytes) {
  values_.emplace_back(bytes);
  formats_.push_back(1);
  return *this;
}

Params& Params::AddTextArray(const std::vector<std::string>& items) {
  std::string literal = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      literal += ',';
    }
    AppendQuoted(literal, items[i]);
  }
  literal += '}';
  return Add(literal);
}

Params& Params::AddIntArray(const std::vector<int64_t>& items) {
  std::string literal = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      literal += ',';
    }
    literal += std::to_string(items[i]);
  }
  literal += '}';
  return Add(literal);
}

Params& Params::AddBytesArray(const std::vector<std::string>& items) {
  // The binary array format: dimensions, has-nulls flag, element type, then per dimension its
  // length and lower bound, then each element as a length and its bytes; integers big-endian.
  constexpr uint32_t kByteaOid = 17;
  std::string out;
  auto put = [&out](uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out += static_cast<char>((value >> shift) & 0xFF);
    }
  };
  std::size_t size = 20;
  for (const std::string& item : items) {
    size += 4 + item.size();
  }
  out.reserve(size);
  put(1);
  put(0);
  put(kByteaOid);
  put(static_cast<uint32_t>(items.size()));
  put(1);
  for (const std::string& item : items) {
    put(static_cast<uint32_t>(item.size()));
    out += item;
  }
  values_.emplace_back(std::move(out));
  formats_.push_back(1);
  return *this;
}

Params& Params::AddBoolArray(const std::vector<bool>& items) {
  std::string literal = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      literal += ',';
    }
    literal += items[i] ? 't' : 'f';
  }
  literal += '}';
  return Add(literal);
}

int64_t Rows::Affected() const {
  const char* count = PQcmdTuples(result_.get());
  return count == nullptr || *count == '\0' ? 0 : std::strtoll(count, nullptr, 10);
}

std::string Rows::Text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

int64_t Rows::Int(int row, int column) const {
  return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}

std::optional<int64_t> Rows::OptionalInt(int row, int column) const {
  if (IsNull(row, column)) {
    return std::nullopt;
  }
  return Int(row, column);
}

bool Rows::Bool(int row, int column) const {
  return PQgetvalue(result_.get(), row, column)[0] == 't';
}

std::string Rows::Bytes(int row, int column) const {
  const std::string text = Text(row, column);
  std::string out;
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') {
    return out;
  }
  out.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(HexValue(text[i]) * 16 + HexValue(text[i + 1]));
  }
  return out;
}

std::vector<std::string> Rows::TextArray(int row, int column) const {
  // Output format of a one-dimensional text[]: {a,"b c","d\"e"}; we never store NULL items.
  const std::string text = Text(row, column);
  std::vector<std::string> items;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    return items;
  }
  std::size_t i = 1;
  const std::size_t end = text.size() - 1;
  while (i < end) {
    std::string item;
    if (text[i] == '"') {
      for (++i; i < end && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < end) {
          ++i;
        }
        item += text[i];
      }
      ++i;  // the closing quote
    } else {
      for (; i < end && text[i] != ','; ++i) {
        item += text[i];
      }
    }
    items.push_back(std::move(item));
    if (i < end && text[i] == ',') {
      ++i;
    }
  }
  return items;
}

PGconn* ConnectRaw(const ConnectSettings& settings, bool start_only) {
  const std::string timeout =
      std::to_string(std::max<int64_t>(1, settings.connect_timeout.count()));
  // Later keywords override earlier ones: our defaults go before the DSN, an explicit connect
  // timeout after it.
  std::vector<const char*> keys = {
      "connect_timeout",  "keepalives",       "keepalives_idle",           "keepalives_interval",
      "keepalives_count", "tcp_user_timeout", "fallback_application_name", "dbname"};
  std::vector<const char*> values = {timeout.c_str(),     "1", "10", "5", "3", "30000", "runvoy",
                                     settings.dsn.c_str()};
  if (settings.connect_timeout_explicit) {
    keys.push_back("connect_timeout");
    values.push_back(timeout.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  if (start_only) {
    return PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1);
  }
  return PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
}

Result<std::unique_ptr<Connection>> Connection::Open(const ConnectSettings& settings) {
  PGconn* conn = ConnectRaw(settings);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    const std::string why = ConnectionErrorText(conn);
    PQfinish(conn);
    return tl::unexpected(Unavailable(why));
  }
  std::unique_ptr<Connection> connection(new Connection(conn));
  auto set = connection->Query("SELECT set_config('statement_timeout', $1, false)",
                               Params().Add(std::to_string(settings.statement_timeout.count())));
  if (!set) {
    return tl::unexpected(set.error());
  }
  return connection;
}

Connection::~Connection() {
  PQfinish(conn_);
}

Result<void> Connection::Failed(PGresult* result, const std::string& what) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  last_sql_state_ = state == nullptr ? std::string() : std::string(state);
  std::string message =
      FirstLine(result == nullptr ? PQerrorMessage(conn_)
                                  : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  if (message.empty()) {
    message = FirstLine(PQerrorMessage(conn_));
  }
  if (result != nullptr) {
    PQclear(result);
  }
  if (Broken()) {
    last_sql_state_.clear();
    return tl::unexpected(Unavailable(message.empty() ? "connection lost" : message));
  }
  return core::Fail(core::ErrorCode::kDatabase, "database error",
                    what + ": " + last_sql_state_ + " " + message);
}

Result<Rows> Connection::Query(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = "s" + std::to_string(prepared_.size() + 1);
    PGresult* prepared = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (prepared == nullptr || PQresultStatus(prepared) != PGRES_COMMAND_OK) {
      auto failed = Failed(prepared, "prepare");
      return tl::unexpected(failed.error());
    }
    PQclear(prepared);
    it = prepared_.emplace(sql, name).first;
  }
  const int count = params.Count();
  std::vector<const char*> values(static_cast<std::size_t>(count));
  std::vector<int> lengths(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto& value = params.Values()[static_cast<std::size_t>(i)];
    values[static_cast<std::size_t>(i)] = value ? value->data() : nullptr;
    lengths[static_cast<std::size_t>(i)] = value ? static_cast<int>(value->size()) : 0;
  }
  PGresult* result = PQexecPrepared(conn_, it->second.c_str(), count, values.data(), lengths.data(),
                                    params.Formats().data(), /*resultFormat=*/0);
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    auto failed = Failed(result, "query");
    return tl::unexpected(failed.error());
  }
  last_sql_state_.clear();
  return Rows(result);
}

Result<void> Connection::Exec(const std::string& sql) {
  PGresult* result = PQexec(conn_, sql.c_str());
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Failed(result, "exec");
  }
  PQclear(result);
  last_sql_state_.clear();
  return {};
}

bool Connection::LooksAlive() const {
  if (Broken()) {
    return false;
  }
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  return poll(&fd, 1, 0) == 0;
}

Pool::~Pool() {
  std::scoped_lock lock(mutex_);
  idle_.clear();
}

std::size_t Pool::OpenCount() {
  std::scoped_lock lock(mutex_);
  return open_;
}

Result<Pool::Lease> Pool::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  std::unique_ptr<Connection> stale;
  {
    std::unique_lock lock(mutex_);
    while (idle_.empty() && open_ >= options_.max_size) {
      if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= options_.max_size) {
        return tl::unexpected(Unavailable(
            "no connection free within " + std::to_string(options_.acquire_timeout.count()) +
            " ms (pool of " + std::to_string(options_.max_size) + ")"));
      }
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      if (connection->LooksAlive()) {
        return Lease(*this, std::move(connection));
      }
      // The server ended it (restart, idle timeout): replace it in the same slot.
      stale = std::move(connection);
    } else {
      ++open_;
    }
  }
  stale.reset();
  auto opened = Connection::Open(options_.connect);
  if (!opened) {
    {
      std::scoped_lock lock(mutex_);
      --open_;
    }
    freed_.notify_one();
    return tl::unexpected(opened.error());
  }
  return Lease(*this, std::move(*opened));
}

void Pool::Release(std::unique_ptr<Connection> connection) {
  if (!connection->Broken() && !connection->Idle()) {
    (void)connection->Exec("ROLLBACK");
  }
  const bool keep = !connection->Broken() && connection->Idle();
  if (!keep) {
    connection.reset();
  }
  {
    std::scoped_lock lock(mutex_);
    if (keep) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
  }
  freed_.notify_one();
}

bool Pool::Retryable(const Connection& connection, const core::Error& error) {
  return error.code == core::ErrorCode::kDatabase &&
         (connection.LastSqlState() == kSerializationFailure ||
          connection.LastSqlState() == kDeadlockDetected);
}

void Pool::Backoff(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int ceiling = 1 << std::min(attempt, 5);  // 1..32 ms
  std::uniform_int_distribution<int> pick(0, ceiling);
  std::this_thread::sleep_for(std::chrono::milliseconds(pick(random)));
}

}  // namespace runvoy::providers::postgres
