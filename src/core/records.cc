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

std::string_view LogStreamName(LogStream stream) {
  switch (stream) {
    case LogStream::kStdout: return "stdout";
    case LogStream::kStderr: return "stderr";
    case LogStream::kRunvoy: return "runvoy";
  }
  return "runvoy";
}

}  // namespace runvoy::core
