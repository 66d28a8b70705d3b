#include "cli/config_store.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace runvoy::cli {
namespace {

std::string StripTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ErrnoText() {
  return std::generic_category().message(errno);
}

core::Error FileError(const std::string& what, const std::filesystem::path& path) {
  return core::Error{
      core::ErrorCode::kInternal, what + " " + path.string() + ": " + ErrnoText(), {}};
}

}  // namespace

std::filesystem::path RunvoyHomeDir(const Environment& env) {
  std::string home = env.GetNonEmpty("HOME").value_or("");
  if (home.empty()) {
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
        found != nullptr && entry.pw_dir != nullptr) {
      home = entry.pw_dir;
    }
  }
  return std::filesystem::path(home) / ".runvoy";
}

std::filesystem::path ConfigFilePath(const Environment& env) {
  return RunvoyHomeDir(env) / "config.yaml";
}

core::Result<CliConfig> LoadConfigFile(const std::filesystem::path& path, bool* too_open) {
  if (too_open != nullptr) {
    *too_open = false;
  }
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) {
      return CliConfig{};
    }
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "cannot read " + path.string() + ": " + ErrnoText());
  }
  if (too_open != nullptr) {
    *too_open = (info.st_mode & 077) != 0;
  }
  std::ifstream file(path);
  if (!file) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "cannot read " + path.string() + ": " + ErrnoText());
  }
  std::ostringstream text;
  text << file.rdbuf();
  auto config = ParseCliConfigText(text.str());
  if (!config) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      path.string() + ": " + config.error().message);
  }
  return config;
}

core::Result<void> SaveConfigFile(const std::filesystem::path& path, const CliConfig& config) {
  const std::filesystem::path dir = path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kInternal,
                      "cannot create " + dir.string() + ": " + ec.message());
  }
  if (chmod(dir.c_str(), 0700) != 0) {
    return tl::unexpected(FileError("cannot chmod", dir));
  }

  const std::filesystem::path temp = path.string() + ".tmp";
  const std::string text = RenderCliConfigText(config);
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return tl::unexpected(FileError("cannot write", temp));
  }
  // The file may have existed with wider permissions; the key must never be readable by others.
  bool ok = fchmod(fd, 0600) == 0;
  size_t written = 0;
  while (ok && written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  if (close(fd) != 0) {
    ok = false;
  }
  if (!ok || rename(temp.c_str(), path.c_str()) != 0) {
    core::Error error = FileError("cannot write", path);
    unlink(temp.c_str());
    return tl::unexpected(error);
  }
  return {};
}

CliConfig ApplyEnvironment(CliConfig config, const Environment& env) {
  if (auto v = env.GetNonEmpty("RUNVOY_API_ENDPOINT")) {
    config.api_endpoint = *v;
  }
  if (auto v = env.GetNonEmpty("RUNVOY_API_KEY")) {
    config.api_key = *v;
  }
  if (auto v = env.GetNonEmpty("RUNVOY_WEB_URL")) {
    config.web_url = *v;
  }
  return config;
}

std::string ApiBaseUrl(const std::string& api_endpoint) {
  std::string url = StripTrailingSlashes(api_endpoint);
  if (EndsWith(url, "/api/v1")) {
    return url;
  }
  return url + "/api/v1";
}

std::string WebBaseUrl(const CliConfig& config) {
  if (!config.web_url.empty()) {
    return StripTrailingSlashes(config.web_url);
  }
  std::string url = StripTrailingSlashes(config.api_endpoint);
  if (EndsWith(url, "/api/v1")) {
    url.resize(url.size() - std::string("/api/v1").size());
  }
  return url;
}

std::string ViewerLink(const CliConfig& config, const std::string& execution_id) {
  return WebBaseUrl(config) + "/logs?execution_id=" + execution_id;
}

}  // namespace runvoy::cli
