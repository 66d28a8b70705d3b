#include "cli/commands/run_request.h"

#include <cctype>

#include "core/time.h"

namespace runvoy::cli {

namespace json = boost::json;

bool IsEnvName(const std::string& name) {
  if (name.empty()) {
    return false;
  }
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      return false;
    }
  }
  return true;
}

core::Result<json::object> BuildRunRequest(const RunArgs& args, const Environment& caller_env) {
  auto bad = [](std::string message) {
    return core::Fail(core::ErrorCode::kInvalidRequest, std::move(message));
  };
  std::string command;
  size_t first = 0;
  if (!args.command_words.empty() && args.command_words[0] == "--") {
    first = 1;
  }
  for (size_t i = first; i < args.command_words.size(); ++i) {
    if (!command.empty()) {
      command += ' ';
    }
    command += args.command_words[i];
  }
  if (command.find_first_not_of(" \t\n") == std::string::npos) {
    return bad("no command given: runvoy run [options] <command...>");
  }
  json::object request{{"command", command}};
  if (!args.image.empty()) {
    request["image"] = args.image;
  }
  if (!args.git_repo.empty()) {
    request["git_repo"] = args.git_repo;
  }
  if (!args.git_ref.empty()) {
    request["git_ref"] = args.git_ref;
  }
  if (!args.git_path.empty()) {
    request["git_path"] = args.git_path;
  }
  if ((!args.git_ref.empty() || !args.git_path.empty()) && args.git_repo.empty()) {
    return bad("--git-ref and --git-path need --git-repo");
  }

  json::object env;
  static const std::string kUserPrefix = "RUNVOY_USER_";
  for (const auto& [name, value] : caller_env.vars) {
    if (name.rfind(kUserPrefix, 0) == 0 && name.size() > kUserPrefix.size()) {
      const std::string target = name.substr(kUserPrefix.size());
      if (IsEnvName(target)) {
        env[target] = value;
      }
    }
  }
  for (const std::string& pair : args.env) {
    const size_t equals = pair.find('=');
    if (equals == std::string::npos) {
      return bad("--env needs K=V, got `" + pair + "`");
    }
    const std::string name = pair.substr(0, equals);
    if (!IsEnvName(name)) {
      return bad("invalid environment variable name `" + name + "`");
    }
    env[name] = pair.substr(equals + 1);
  }
  if (!env.empty()) {
    request["env"] = std::move(env);
  }

  if (!args.secrets.empty()) {
    json::array secrets;
    for (const std::string& name : args.secrets) {
      if (name.empty()) {
        return bad("--secret needs a name");
      }
      secrets.emplace_back(name);
    }
    request["secrets"] = std::move(secrets);
  }
  if (!args.run_timeout.empty()) {
    const auto duration = core::ParseDuration(args.run_timeout);
    if (!duration || duration->count() <= 0) {
      return bad("invalid --run-timeout `" + args.run_timeout + "` (use e.g. 90s, 10m, 1h)");
    }
    request["timeout"] = (duration->count() + 999) / 1000;
  }
  return request;
}

}  // namespace runvoy::cli
