#include "core/records.h"

namespace runvoy::core {

std::string_view UserStatusName(UserStatus status) {
  switch (status) {
    case UserStatus::kPending: return "pending";
    case UserStatus::kActive: return "active";
    case UserStatus::kRevoked: return "revoked";
  }
  return "pending";
}

UserStatus UserStatusFromName(std::string_view name) {
  if (name == "active")
    return UserStatus::kActive;
  if (name == "revoked")
    return UserStatus::kRevoked;
  return UserStatus::kPending;
}

std::string_view LogStreamName(LogStream stream) {
  switch (stream) {
    case LogStream::kStdout: return "stdout";
    case LogStream::kStderr: return "stderr";
    case LogStream::kRunvoy: return "runvoy";
  }
  return "runvoy";
}

LogStream LogStreamFromName(std::string_view name) {
  if (name == "stdout")
    return LogStream::kStdout;
  if (name == "stderr")
    return LogStream::kStderr;
  return LogStream::kRunvoy;
}

}  // namespace runvoy::core
