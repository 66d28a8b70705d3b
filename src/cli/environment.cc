#include "cli/environment.h"

#include <cstring>

#include <unistd.h>

extern char** environ;

namespace runvoy::cli {

Environment Environment::FromProcess() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const char* equals = std::strchr(*entry, '=');
    if (equals == nullptr) {
      continue;
    }
    env.vars.emplace(std::string(*entry, static_cast<size_t>(equals - *entry)),
                     std::string(equals + 1));
  }
  return env;
}

std::optional<std::string> Environment::Get(const std::string& name) const {
  const auto it = vars.find(name);
  if (it == vars.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<std::string> Environment::GetNonEmpty(const std::string& name) const {
  auto value = Get(name);
  if (!value || value->empty()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace runvoy::cli
