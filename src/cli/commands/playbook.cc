#include <algorithm>
#include <memory>

#include <boost/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/run_request.h"
#include "cli/playbooks.h"

namespace runvoy::cli {

namespace json = boost::json;

namespace {

std::vector<std::filesystem::path> Dirs(Context& context) {
  std::error_code ec;
  return PlaybookDirs(std::filesystem::current_path(ec), context.env());
}

std::string JoinCommands(const std::vector<std::string>& commands) {
  std::string joined;
  for (const auto& command : commands) {
    joined += (joined.empty() ? "" : " && ") + command;
  }
  return joined;
}

struct PlaybookRunArgs {
  std::string name;
  RunArgs overrides;
  std::vector<std::string> params;  // "name=value"
};

// The run request for a playbook with the flags of `playbook run` applied.
core::Result<json::object> PlaybookRequest(const config::Playbook& source,
                                           const PlaybookRunArgs& args, const Environment& env) {
  std::map<std::string, std::string> overrides;
  for (const std::string& param : args.params) {
    const size_t equals = param.find('=');
    if (equals == std::string::npos || equals == 0) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "--param needs name=value, got `" + param + "`");
    }
    overrides[param.substr(0, equals)] = param.substr(equals + 1);
  }
  auto playbook = config::ApplyParams(source, overrides);
  if (!playbook) {
    return tl::unexpected(playbook.error());
  }
  RunArgs run = args.overrides;
  run.command_words = {JoinCommands(playbook->commands)};
  if (run.image.empty()) {
    run.image = playbook->image;
  }
  if (run.git_repo.empty()) {
    run.git_repo = playbook->git_repo;
  }
  if (run.git_ref.empty()) {
    run.git_ref = playbook->git_ref;
  }
  if (run.git_path.empty()) {
    run.git_path = playbook->git_path;
  }
  std::vector<std::string> secrets = playbook->secrets;
  for (const auto& secret : args.overrides.secrets) {
    if (std::find(secrets.begin(), secrets.end(), secret) == secrets.end()) {
      secrets.push_back(secret);
    }
  }
  run.secrets = secrets;
  // The file's env is the base: RUNVOY_USER_<NAME> in the caller's environment overlays it
  // (BuildRunRequest adds those first, so a file entry they name is left out), and the -e
  // flags come last, so they win over both.
  std::vector<std::string> env_pairs;
  for (const auto& [name, value] : playbook->env) {
    if (env.vars.count("RUNVOY_USER_" + name) == 0) {
      env_pairs.push_back(name + "=" + value);
    }
  }
  env_pairs.insert(env_pairs.end(), args.overrides.env.begin(), args.overrides.env.end());
  run.env = env_pairs;
  return BuildRunRequest(run, env);
}

}  // namespace

void AddPlaybookCommands(CLI::App& app, Action& action) {
  CLI::App* playbook = app.add_subcommand("playbook", "run saved commands from .runvoy/*.yaml");
  playbook->require_subcommand(1);

  CLI::App* list = playbook->add_subcommand("list", "list playbooks");
  list->callback([&action] {
    action = [](Context& context) {
      const auto files = FindPlaybooks(Dirs(context));
      if (context.json()) {
        json::array items;
        for (const auto& file : files) {
          items.push_back(json::object{{"name", file.name}, {"path", file.path.string()}});
        }
        context.out() << json::serialize(json::object{{"playbooks", items}}) << "\n";
        return kExitOk;
      }
      std::vector<std::vector<std::string>> rows;
      for (const auto& file : files) {
        auto parsed = LoadPlaybook(Dirs(context), file.name);
        rows.push_back({file.name, parsed ? parsed->description : "(invalid: see playbook show)",
                        file.path.string()});
      }
      PrintTable(context.out(), context.style(), {"NAME", "DESCRIPTION", "FILE"}, rows);
      return kExitOk;
    };
  });

  auto show_name = std::make_shared<std::string>();
  CLI::App* show = playbook->add_subcommand("show", "show a playbook");
  show->add_option("name", *show_name, "the playbook's name")->required();
  show->callback([&action, show_name] {
    action = [name = *show_name](Context& context) {
      auto parsed = LoadPlaybook(Dirs(context), name);
      if (!parsed) {
        return context.FailLocal(parsed.error());
      }
      const config::Playbook& p = *parsed;
      std::vector<std::pair<std::string, std::string>> fields{{"name", p.name}};
      auto add = [&](const char* key, const std::string& value) {
        if (!value.empty()) {
          fields.emplace_back(key, value);
        }
      };
      add("description", p.description);
      add("image", p.image);
      add("git_repo", p.git_repo);
      add("git_ref", p.git_ref);
      add("git_path", p.git_path);
      std::string secrets;
      for (const auto& s : p.secrets) {
        secrets += (secrets.empty() ? "" : ", ") + s;
      }
      add("secrets", secrets);
      for (const auto& [k, v] : p.env) {
        fields.emplace_back("env " + k, v);
      }
      for (const auto& [k, v] : p.params) {
        fields.emplace_back("param " + k, v);
      }
      for (const auto& k : p.required_params) {
        fields.emplace_back("param " + k, "(required)");
      }
      fields.emplace_back("command", JoinCommands(p.commands));
      if (context.json()) {
        json::object out;
        for (const auto& [k, v] : fields) {
          out[k] = v;
        }
        context.out() << json::serialize(out) << "\n";
        return kExitOk;
      }
      PrintRecord(context.out(), fields);
      return kExitOk;
    };
  });

  auto args = std::make_shared<PlaybookRunArgs>();
  CLI::App* run = playbook->add_subcommand("run", "run a playbook");
  run->add_option("name", args->name, "the playbook's name")->required();
  run->add_option("-i,--image", args->overrides.image, "image (overrides the file)");
  run->add_option("-g,--git-repo", args->overrides.git_repo, "git repository (overrides)");
  run->add_option("-r,--git-ref", args->overrides.git_ref, "git ref (overrides)");
  run->add_option("-p,--git-path", args->overrides.git_path, "git path (overrides)");
  run->add_option("--secret", args->overrides.secrets, "extra secret (repeatable)")
      ->allow_extra_args(false);
  run->add_option("-e,--env", args->overrides.env, "extra or overriding K=V (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--param", args->params, "playbook parameter name=value (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--run-timeout", args->overrides.run_timeout, "time limit, e.g. 10m");
  run->add_flag("-d,--detach", args->overrides.detach, "print the execution ID and return");
  run->callback([&action, args] {
    action = [a = *args](Context& context) {
      auto parsed = LoadPlaybook(Dirs(context), a.name);
      if (!parsed) {
        return context.FailLocal(parsed.error(), parsed.error().code == core::ErrorCode::kNotFound
                                                     ? kExitUsage
                                                     : kExitRunvoyFailed);
      }
      auto request = PlaybookRequest(*parsed, a, context.env());
      if (!request) {
        return context.UsageError(request.error().message);
      }
      return StartAndFollow(context, *request, a.overrides.detach);
    };
  });
}

}  // namespace runvoy::cli
