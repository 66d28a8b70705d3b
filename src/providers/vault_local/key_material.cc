#include "providers/vault_local/key_material.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"

namespace runvoy::providers::vault_local::internal {
namespace {

core::Result<void> SyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return tl::unexpected(
        KeyError(fmt::format("cannot open directory {}: {}", dir, std::strerror(errno))));
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return tl::unexpected(KeyError(fmt::format("cannot sync directory {}", dir)));
  return {};
}

}  // namespace

core::Error KeyError(std::string message) {
  return {core::ErrorCode::kInvalidRequest, std::move(message), {}};
}

core::Result<std::string> DecodeKey(const std::string& text, const std::string& origin) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  const std::string trimmed =
      first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  auto raw = common::Base64Decode(trimmed);
  if (!raw || raw->size() != 32) {
    return tl::unexpected(
        KeyError(fmt::format("{}: the master key must be 32 bytes, base64-encoded", origin)));
  }
  return *raw;
}

std::string KeyFilePath(const contract::ProviderContext& context) {
  return context.Get("key_file", context.data_dir + "/master.key");
}

core::Result<std::optional<std::string>> ReadKeyFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) return std::optional<std::string>();
  std::ifstream in(path);
  if (!in) {
    return tl::unexpected(
        KeyError(fmt::format("cannot read master key file {}: {}", path, std::strerror(errno))));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto key = DecodeKey(text.str(), path);
  if (!key) return tl::unexpected(key.error());
  return std::optional<std::string>(*key);
}

core::Result<void> WriteKeyFile(const std::string& path, const std::string& raw_key,
                                bool exclusive) {
  const std::string encoded = common::Base64Encode(raw_key) + "\n";
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    return tl::unexpected(
        KeyError(fmt::format("cannot create master key file {}: {}", path, std::strerror(errno))));
  }
  // An existing file keeps its mode on O_TRUNC: make sure it is 0600 before the key is in it.
  const bool written =
      ::fchmod(fd, 0600) == 0 &&
      ::write(fd, encoded.data(), encoded.size()) == static_cast<ssize_t>(encoded.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return tl::unexpected(KeyError(fmt::format("cannot write {}", path)));
  return SyncDirectoryOf(path);
}

core::Result<void> ReplaceFile(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return tl::unexpected(
        KeyError(fmt::format("cannot rename {} to {}: {}", from, to, std::strerror(errno))));
  }
  return SyncDirectoryOf(to);
}

core::Result<std::optional<std::string>> ReadSetting(contract::Store& store,
                                                     const std::string& key) {
  auto value = store.Settings().Get(key);
  if (!value) return tl::unexpected(value.error());
  if (*value && (*value)->empty()) return std::optional<std::string>();
  return *value;
}

}  // namespace runvoy::providers::vault_local::internal
