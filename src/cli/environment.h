#pragma once

#include <map>
#include <optional>
#include <string>

namespace runvoy::cli {

// A snapshot of environment variables, so that commands and tests never read the process
// environment directly.
struct Environment {
  std::map<std::string, std::string> vars;

  // Copies the current process environment.
  static Environment FromProcess();
  // The value of `name`, or nullopt when unset. An empty value counts as set.
  std::optional<std::string> Get(const std::string& name) const;
  // The value of `name`, or nullopt when unset or empty.
  std::optional<std::string> GetNonEmpty(const std::string& name) const;
};

}  // namespace runvoy::cli
