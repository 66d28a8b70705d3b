#include "cli/playbooks.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/config_store.h"

namespace runvoy::cli {

std::vector<std::filesystem::path> PlaybookDirs(const std::filesystem::path& working_dir,
                                                const Environment& env) {
  std::vector<std::filesystem::path> dirs{working_dir / ".runvoy"};
  const std::filesystem::path home = RunvoyHomeDir(env);
  std::error_code ec;
  if (!std::filesystem::equivalent(dirs[0], home, ec)) {
    dirs.push_back(home);
  }
  return dirs;
}

std::vector<PlaybookFile> FindPlaybooks(const std::vector<std::filesystem::path>& dirs) {
  std::map<std::string, std::filesystem::path> found;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) {
      continue;
    }
    for (const auto& entry : it) {
      if (!entry.is_regular_file(ec)) {
        continue;
      }
      const std::string extension = entry.path().extension().string();
      if (extension != ".yaml" && extension != ".yml") {
        continue;
      }
      const std::string name = entry.path().stem().string();
      if (name == "config" || name.empty()) {
        continue;
      }
      found.emplace(name, entry.path());  // the earlier directory wins
    }
  }
  std::vector<PlaybookFile> files;
  for (auto& [name, path] : found) {
    files.push_back({name, path});
  }
  return files;
}

core::Result<config::Playbook> LoadPlaybook(const std::vector<std::filesystem::path>& dirs,
                                            const std::string& name) {
  for (const PlaybookFile& file : FindPlaybooks(dirs)) {
    if (file.name != name) {
      continue;
    }
    std::ifstream in(file.path);
    if (!in) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "cannot read " + file.path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto playbook = config::ParsePlaybook(name, text.str());
    if (!playbook) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        file.path.string() + ": " + playbook.error().message);
    }
    return playbook;
  }
  return core::Fail(core::ErrorCode::kNotFound,
                    "no playbook named `" + name + "` in ./.runvoy/ or ~/.runvoy/");
}

}  // namespace runvoy::cli
