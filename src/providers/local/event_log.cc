#include "providers/local/event_log.h"

#include <cerrno>
#include <cstring>

#include <boost/json.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace runvoy::providers::local {
namespace {

namespace json = boost::json;

void PutU32(uint32_t v, std::string& out) {
  char b[4];
  for (int i = 0; i < 4; ++i)
    b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(b, 4);
}

void PutI64(int64_t value, std::string& out) {
  const auto v = static_cast<uint64_t>(value);
  char b[8];
  for (int i = 0; i < 8; ++i)
    b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  out.append(b, 8);
}

uint64_t GetU(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

const char* CauseName(contract::TaskExit::Cause cause) {
  using Cause = contract::TaskExit::Cause;
  switch (cause) {
    case Cause::kExited: return "exited";
    case Cause::kSignaled: return "signaled";
    case Cause::kKilledByUser: return "killed_by_user";
    case Cause::kTimedOut: return "timed_out";
    case Cause::kFailedToStart: return "failed_to_start";
  }
  return "exited";
}

std::optional<contract::TaskExit::Cause> ParseCause(std::string_view name) {
  using Cause = contract::TaskExit::Cause;
  for (Cause c : {Cause::kExited, Cause::kSignaled, Cause::kKilledByUser, Cause::kTimedOut,
                  Cause::kFailedToStart}) {
    if (name == CauseName(c))
      return c;
  }
  return std::nullopt;
}

}  // namespace

void AppendStartedRecord(int64_t timestamp_ms, std::string& out) {
  PutU32(1 + 8, out);
  out.push_back('S');
  PutI64(timestamp_ms, out);
}

void AppendEventRecord(const core::LogEvent& event, std::string& out) {
  PutU32(static_cast<uint32_t>(1 + 8 + 8 + 1 + 1 + event.message.size()), out);
  out.push_back('E');
  PutI64(event.sequence, out);
  PutI64(event.timestamp_ms, out);
  out.push_back(static_cast<char>(event.stream));
  out.push_back(event.partial ? 1 : 0);
  out.append(event.message);
}

bool EventDecoder::Feed(std::string_view bytes, std::vector<core::LogEvent>& events,
                        std::optional<int64_t>& started_ms) {
  buffer_.append(bytes);
  size_t pos = 0;
  bool ok = true;
  while (buffer_.size() - pos >= 4) {
    const size_t len = GetU(buffer_.data() + pos, 4);
    if (len == 0 || len > (64u << 20)) {
      ok = false;
      break;
    }
    if (buffer_.size() - pos - 4 < len)
      break;
    const char* p = buffer_.data() + pos + 4;
    if (p[0] == 'S' && len == 9) {
      started_ms = static_cast<int64_t>(GetU(p + 1, 8));
    } else if (p[0] == 'E' && len >= 19) {
      core::LogEvent event;
      event.sequence = static_cast<int64_t>(GetU(p + 1, 8));
      event.timestamp_ms = static_cast<int64_t>(GetU(p + 9, 8));
      const int stream = static_cast<unsigned char>(p[17]);
      if (stream > static_cast<int>(core::LogStream::kRunvoy)) {
        ok = false;
        break;
      }
      event.stream = static_cast<core::LogStream>(stream);
      event.partial = p[18] != 0;
      event.message.assign(p + 19, len - 19);
      events.push_back(std::move(event));
    } else {
      ok = false;
      break;
    }
    pos += 4 + len;
  }
  buffer_.erase(0, pos);
  return ok;
}

std::string EncodeExit(const contract::TaskExit& exit) {
  json::object o;
  o["cause"] = CauseName(exit.cause);
  o["exit_code"] = exit.exit_code;
  o["signal"] = exit.signal;
  o["reason"] = exit.reason;
  o["at_ms"] = core::ToUnixMillis(exit.at);
  return json::serialize(o);
}

core::Result<contract::TaskExit> DecodeExit(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object())
    return core::Fail(core::ErrorCode::kInternal, "corrupt exit record");
  const json::object& o = v.as_object();
  contract::TaskExit exit;
  const auto* cause = o.if_contains("cause");
  if (cause == nullptr || !cause->is_string()) {
    return core::Fail(core::ErrorCode::kInternal, "corrupt exit record");
  }
  auto parsed = ParseCause(cause->as_string());
  if (!parsed)
    return core::Fail(core::ErrorCode::kInternal, "corrupt exit record");
  exit.cause = *parsed;
  if (const auto* c = o.if_contains("exit_code"); c && c->is_int64()) {
    exit.exit_code = static_cast<int>(c->as_int64());
  }
  if (const auto* s = o.if_contains("signal"); s && s->is_int64()) {
    exit.signal = static_cast<int>(s->as_int64());
  }
  if (const auto* r = o.if_contains("reason"); r && r->is_string()) {
    exit.reason = std::string(r->as_string());
  }
  if (const auto* t = o.if_contains("at_ms"); t && t->is_int64()) {
    exit.at = core::FromUnixMillis(t->as_int64());
  }
  return exit;
}

bool SupervisorAlive(const std::string& dir) {
  const std::string path = dir + "/" + kLockFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

}  // namespace runvoy::providers::local
