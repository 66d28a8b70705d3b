// Playbook files (config/playbook.h): parsing and validation of any YAML, then parameter
// substitution with every required parameter given. Checks what the interface promises of a
// playbook that parsed: `commands` is never empty, declared and required parameters do not
// overlap, and a substitution that succeeds uses a value for every declared parameter and leaves
// none required.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "config/playbook.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "playbook: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto playbook = runvoy::config::ParsePlaybook("fuzz", text);
  if (!playbook) {
    if (playbook.error().message.find('\n') != std::string::npos) Fail("multi-line error");
    return 0;
  }
  if (playbook->commands.empty()) Fail("a playbook without commands parsed");
  for (const std::string& name : playbook->required_params) {
    if (playbook->params.count(name) != 0) Fail("a parameter both required and defaulted");
  }
  std::map<std::string, std::string> overrides;
  for (const std::string& name : playbook->required_params) overrides[name] = "{{" + name + "}}";
  if (!playbook->params.empty()) overrides[playbook->params.begin()->first] = "v {{ x }} $HOME";
  auto applied = runvoy::config::ApplyParams(*playbook, overrides);
  if (!applied) return 0;
  if (!applied->required_params.empty()) Fail("required parameters left after substitution");
  if (applied->commands.size() != playbook->commands.size()) Fail("commands added or lost");
  for (const auto& [name, value] : playbook->params) {
    if (applied->params.count(name) == 0) Fail("a declared parameter without a value");
  }
  return 0;
}
