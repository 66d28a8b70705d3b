#include "common/files.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace runvoy::common {
namespace {

tl::unexpected<core::Error> WriteFailure(const std::string& path, int error_number) {
  return core::Fail(core::ErrorCode::kInternal, "cannot write " + path,
                    std::strerror(error_number));
}

}  // namespace

core::Result<void> WriteFileAtomically(const std::string& path, std::string_view content,
                                       bool sync) {
  // The process ID keeps two processes writing the same file from sharing a temporary file.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return WriteFailure(path, errno);
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int error_number = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(temp.c_str());
      return WriteFailure(path, error_number);
    }
    done += static_cast<std::size_t>(n);
  }
  if (sync && ::fsync(fd) != 0) {
    const int error_number = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return WriteFailure(path, error_number);
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error_number = errno;
    ::unlink(temp.c_str());
    return WriteFailure(path, error_number);
  }
  return {};
}

core::Result<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::Fail(errno == ENOENT ? core::ErrorCode::kNotFound : core::ErrorCode::kInternal,
                      "cannot read " + path, std::strerror(errno));
  }
  std::string out;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int error_number = errno;
      ::close(fd);
      return core::Fail(core::ErrorCode::kInternal, "cannot read " + path,
                        std::strerror(error_number));
    }
    if (n == 0) {
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace runvoy::common
