#include "config/playbook.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "config/internal/yaml_support.h"

namespace runvoy::config {
namespace {

using internal::Quote;

bool IsEnvName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_') {
      return false;
    }
  }
  return true;
}

bool IsParamName(const std::string& name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

class PlaybookReader {
 public:
  explicit PlaybookReader(const std::string& name) : what_(fmt::format("playbook \"{}\"", name)) {}

  Result<Playbook> Read(const std::string& name, const YAML::Node& root) {
    Playbook playbook;
    playbook.name = name;
    if (!root.IsMap()) {
      if (root.IsNull()) {
        return Fail(root, "missing key \"commands\" (a list of commands)");
      }
      return Fail(root, "expected a map of keys, got " + internal::KindName(root));
    }
    std::set<std::string> seen;
    for (const auto& entry : root) {
      const YAML::Node& key_node = entry.first;
      const YAML::Node& value = entry.second;
      if (!key_node.IsScalar()) {
        return Fail(key_node, "expected a key, got " + internal::KindName(key_node));
      }
      const std::string key = key_node.Scalar();
      if (!seen.insert(key).second) {
        return Fail(key_node, fmt::format("duplicate key {}", Quote(key)));
      }
      if (auto ok = ReadKey(key_node, key, value, playbook); !ok) {
        return tl::unexpected(ok.error());
      }
    }
    if (seen.count("commands") == 0) {
      return Fail(root, "missing key \"commands\" (a list of commands)");
    }
    return playbook;
  }

 private:
  Result<void> ReadKey(const YAML::Node& key_node, const std::string& key, const YAML::Node& value,
                       Playbook& playbook) const {
    Result<void> ok;
    if (key == "description") {
      ok = Text(value, key, playbook.description);
    } else if (key == "image") {
      ok = Text(value, key, playbook.image);
    } else if (key == "git_repo") {
      ok = Text(value, key, playbook.git_repo);
    } else if (key == "git_ref") {
      ok = Text(value, key, playbook.git_ref);
    } else if (key == "git_path") {
      ok = Text(value, key, playbook.git_path);
    } else if (key == "secrets") {
      ok = TextList(value, key, playbook.secrets);
    } else if (key == "commands") {
      ok = TextList(value, key, playbook.commands);
      if (ok && playbook.commands.empty()) {
        ok = Fail(value, "commands: expected at least one command");
      }
    } else if (key == "env") {
      ok = Env(value, playbook.env);
    } else if (key == "params") {
      ok = Params(value, playbook);
    } else {
      ok =
          Fail(key_node, fmt::format("unknown key {} (keys: description, image, git_repo, git_ref, "
                                     "git_path, secrets, env, commands, params)",
                                     Quote(key)));
    }
    return ok;
  }

  tl::unexpected<core::Error> Fail(const YAML::Node& node, const std::string& message) const {
    return tl::unexpected(internal::ErrorAt(what_, node, message));
  }

  Result<void> Text(const YAML::Node& node, const std::string& key, std::string& out) const {
    if (node.IsNull()) {
      return {};
    }
    if (!node.IsScalar()) {
      return Fail(node, fmt::format("{}: expected a value, got {}", key, internal::KindName(node)));
    }
    out = node.Scalar();
    return {};
  }

  Result<void> TextList(const YAML::Node& node, const std::string& key,
                        std::vector<std::string>& out) const {
    if (node.IsNull()) {
      return {};
    }
    if (!node.IsSequence()) {
      return Fail(node, fmt::format("{}: expected a list, got {}", key, internal::KindName(node)));
    }
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        return Fail(item, fmt::format("{}: expected a list of values, got {} in it", key,
                                      internal::KindName(item)));
      }
      if (item.Scalar().empty()) {
        return Fail(item, fmt::format("{}: empty entry", key));
      }
      out.push_back(item.Scalar());
    }
    return {};
  }

  template <typename Visit>
  Result<void> Map(const YAML::Node& node, const std::string& key, Visit visit) const {
    if (node.IsNull()) {
      return {};
    }
    if (!node.IsMap()) {
      return Fail(node, fmt::format("{}: expected a map, got {}", key, internal::KindName(node)));
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& name_node = entry.first;
      if (!name_node.IsScalar()) {
        return Fail(name_node,
                    fmt::format("{}: expected a name, got {}", key, internal::KindName(name_node)));
      }
      const std::string name = name_node.Scalar();
      if (!seen.insert(name).second) {
        return Fail(name_node, fmt::format("{}: duplicate name {}", key, Quote(name)));
      }
      if (entry.second.IsMap() || entry.second.IsSequence()) {
        return Fail(entry.second, fmt::format("{}.{}: expected a value, got {}", key, name,
                                              internal::KindName(entry.second)));
      }
      auto ok = visit(name_node, name, entry.second);
      if (!ok) {
        return ok;
      }
    }
    return {};
  }

  Result<void> Env(const YAML::Node& node, std::map<std::string, std::string>& env) const {
    return Map(node, "env",
               [&](const YAML::Node& name_node, const std::string& name,
                   const YAML::Node& value) -> Result<void> {
                 if (!IsEnvName(name)) {
                   return Fail(name_node, fmt::format("env: {} is not a variable name (letters, "
                                                      "digits and _, not starting with a digit)",
                                                      Quote(name)));
                 }
                 env[name] = value.IsNull() ? std::string() : value.Scalar();
                 return {};
               });
  }

  Result<void> Params(const YAML::Node& node, Playbook& playbook) const {
    return Map(node, "params",
               [&](const YAML::Node& name_node, const std::string& name,
                   const YAML::Node& value) -> Result<void> {
                 if (!IsParamName(name)) {
                   return Fail(name_node,
                               fmt::format("params: {} is not a parameter name (letters, "
                                           "digits, _ and -, starting with a letter or _)",
                                           Quote(name)));
                 }
                 if (value.IsNull()) {
                   playbook.required_params.insert(name);
                 } else {
                   playbook.params[name] = value.Scalar();
                 }
                 return {};
               });
  }

  std::string what_;
};

// Replaces {{name}} (spaces inside allowed) by its value; braces around anything that is not
// a param name are kept as written.
Result<std::string> Substitute(const std::string& text,
                               const std::map<std::string, std::string>& values,
                               const std::string& playbook, const std::string& where) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const auto open = text.find("{{", pos);
    if (open == std::string::npos) {
      break;
    }
    const auto close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      break;
    }
    std::string inside = text.substr(open + 2, close - open - 2);
    const auto first = inside.find_first_not_of(' ');
    const auto last = inside.find_last_not_of(' ');
    const std::string name =
        first == std::string::npos ? std::string() : inside.substr(first, last - first + 1);
    out += text.substr(pos, open - pos);
    if (!IsParamName(name)) {
      out += "{{";
      pos = open + 2;
      continue;
    }
    const auto it = values.find(name);
    if (it == values.end()) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        fmt::format("playbook \"{}\": {} uses {{{{{}}}}} but no param \"{}\" "
                                    "is declared under params:",
                                    playbook, where, name, name));
    }
    out += it->second;
    pos = close + 2;
  }
  out += text.substr(pos);
  return out;
}

}  // namespace

Result<Playbook> ParsePlaybook(const std::string& name, const std::string& yaml_text) {
  auto root = internal::LoadYaml(fmt::format("playbook \"{}\"", name), yaml_text);
  if (!root) {
    return tl::unexpected(root.error());
  }
  try {
    return PlaybookReader(name).Read(name, *root);
  } catch (const YAML::Exception& e) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      fmt::format("playbook \"{}\", line {}: {}", name, e.mark.line + 1, e.msg));
  }
}

Result<Playbook> ApplyParams(const Playbook& playbook,
                             const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> values = playbook.params;
  for (const auto& [name, value] : overrides) {
    if (values.count(name) == 0 && playbook.required_params.count(name) == 0) {
      std::vector<std::string> declared;
      for (const auto& [param, unused] : playbook.params) {
        declared.push_back(param);
      }
      declared.insert(declared.end(), playbook.required_params.begin(),
                      playbook.required_params.end());
      std::sort(declared.begin(), declared.end());
      return core::Fail(
          core::ErrorCode::kInvalidRequest,
          fmt::format("--param {}: playbook \"{}\" declares no such param ({})", name,
                      playbook.name,
                      declared.empty() ? std::string("it declares none")
                                       : fmt::format("declared: {}", fmt::join(declared, ", "))));
    }
    values[name] = value;
  }
  for (const auto& name : playbook.required_params) {
    if (values.count(name) == 0) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        fmt::format("playbook \"{}\" needs --param {}=VALUE (it has no default)",
                                    playbook.name, name));
    }
  }
  Playbook result = playbook;
  result.params = values;
  result.required_params.clear();
  for (std::size_t i = 0; i < result.commands.size(); ++i) {
    auto text =
        Substitute(result.commands[i], values, playbook.name, fmt::format("command {}", i + 1));
    if (!text) {
      return tl::unexpected(text.error());
    }
    result.commands[i] = std::move(*text);
  }
  for (auto& [name, value] : result.env) {
    auto text = Substitute(value, values, playbook.name, fmt::format("env {}", name));
    if (!text) {
      return tl::unexpected(text.error());
    }
    value = std::move(*text);
  }
  return result;
}

}  // namespace runvoy::config
