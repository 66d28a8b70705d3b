#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cli/environment.h"
#include "config/playbook.h"
#include "core/error.h"

namespace runvoy::cli {

// A playbook file found on disk.
struct PlaybookFile {
  std::string name;  // file name without .yaml / .yml
  std::filesystem::path path;
};

// The directories searched, in order: ./.runvoy/ (relative to `working_dir`), then
// ~/.runvoy/.
std::vector<std::filesystem::path> PlaybookDirs(const std::filesystem::path& working_dir,
                                                const Environment& env);

// The playbooks in `dirs`, sorted by name; a name in an earlier directory hides the same
// name in a later one. config.yaml / config.yml are never playbooks. Missing directories
// are skipped.
std::vector<PlaybookFile> FindPlaybooks(const std::vector<std::filesystem::path>& dirs);

// Reads and parses the playbook `name`. kNotFound when there is none; kInvalidRequest with
// the file and line when it is malformed.
core::Result<config::Playbook> LoadPlaybook(const std::vector<std::filesystem::path>& dirs,
                                            const std::string& name);

}  // namespace runvoy::cli
