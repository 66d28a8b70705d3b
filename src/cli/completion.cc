#include "cli/completion.h"

#include <sstream>

namespace runvoy::cli {
namespace {

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) {
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

std::string Escape(std::string_view text, char quote) {
  std::string out;
  for (char c : text) {
    if (c == quote || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string Bash() {
  std::ostringstream s;
  std::vector<std::string> names;
  for (const auto& c : CompletionCommands()) {
    names.push_back(c.name);
  }
  s << "# runvoy bash completion: source <(runvoy completion bash)\n"
    << "_runvoy() {\n"
    << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
    << "  local cmd=\"${COMP_WORDS[1]}\"\n"
    << "  local global_flags=\"" << Join(GlobalFlagNames()) << "\"\n"
    << "  if [[ $COMP_CWORD -eq 1 ]]; then\n"
    << "    if [[ $cur == -* ]]; then\n"
    << "      COMPREPLY=($(compgen -W \"$global_flags\" -- \"$cur\"))\n"
    << "    else\n"
    << "      COMPREPLY=($(compgen -W \"" << Join(names) << "\" -- \"$cur\"))\n"
    << "    fi\n"
    << "    return 0\n"
    << "  fi\n"
    << "  case \"$cmd\" in\n";
  for (const auto& c : CompletionCommands()) {
    std::vector<std::string> subs;
    for (const auto& [name, description] : c.subcommands) {
      subs.push_back(name);
    }
    s << "    " << c.name << ")\n";
    s << "      if [[ $cur == -* ]]; then\n"
      << "        COMPREPLY=($(compgen -W \"" << Join(c.flags)
      << " $global_flags\" -- \"$cur\"))\n";
    if (!subs.empty()) {
      s << "      elif [[ $COMP_CWORD -eq 2 ]]; then\n"
        << "        COMPREPLY=($(compgen -W \"" << Join(subs) << "\" -- \"$cur\"))\n";
    }
    s << "      fi\n"
      << "      ;;\n";
  }
  s << "  esac\n"
    << "  return 0\n"
    << "}\n"
    << "complete -o default -F _runvoy runvoy\n";
  return s.str();
}

std::string Zsh() {
  std::ostringstream s;
  s << "#compdef runvoy\n"
    << "# runvoy zsh completion: source <(runvoy completion zsh)\n"
    << "_runvoy() {\n"
    << "  local -a commands subcommands flags\n"
    << "  commands=(\n";
  for (const auto& c : CompletionCommands()) {
    s << "    '" << Escape(c.name, '\'') << ":" << Escape(c.description, '\'') << "'\n";
  }
  s << "  )\n"
    << "  if (( CURRENT == 2 )); then\n"
    << "    if [[ $words[CURRENT] == -* ]]; then\n"
    << "      compadd -- " << Join(GlobalFlagNames()) << "\n"
    << "    else\n"
    << "      _describe -t commands 'runvoy command' commands\n"
    << "    fi\n"
    << "    return\n"
    << "  fi\n"
    << "  case $words[2] in\n";
  for (const auto& c : CompletionCommands()) {
    s << "    " << c.name << ")\n"
      << "      flags=(" << Join(c.flags) << " " << Join(GlobalFlagNames()) << ")\n";
    if (!c.subcommands.empty()) {
      s << "      subcommands=(\n";
      for (const auto& [name, description] : c.subcommands) {
        s << "        '" << name << ":" << Escape(description, '\'') << "'\n";
      }
      s << "      )\n"
        << "      if (( CURRENT == 3 )) && [[ $words[CURRENT] != -* ]]; then\n"
        << "        _describe -t subcommands '" << c.name << " subcommand' subcommands\n"
        << "        return\n"
        << "      fi\n";
    }
    s << "      if [[ $words[CURRENT] == -* ]]; then compadd -- $flags; else _files; fi\n"
      << "      ;;\n";
  }
  s << "  esac\n"
    << "}\n"
    << "if [[ \"${funcstack[1]}\" == \"_runvoy\" ]]; then\n"
    << "  _runvoy \"$@\"\n"
    << "else\n"
    << "  compdef _runvoy runvoy\n"
    << "fi\n";
  return s.str();
}

std::string Fish() {
  std::ostringstream s;
  std::vector<std::string> names;
  for (const auto& c : CompletionCommands()) {
    names.push_back(c.name);
  }
  s << "# runvoy fish completion: runvoy completion fish | source\n"
    << "complete -c runvoy -f\n";
  for (const auto& flag : GlobalFlagNames()) {
    if (flag.rfind("--", 0) == 0) {
      s << "complete -c runvoy -l " << flag.substr(2) << "\n";
    }
  }
  for (const auto& c : CompletionCommands()) {
    s << "complete -c runvoy -n '__fish_use_subcommand' -a " << c.name << " -d '"
      << Escape(c.description, '\'') << "'\n";
    std::vector<std::string> subs;
    for (const auto& [name, description] : c.subcommands) {
      subs.push_back(name);
    }
    for (const auto& [name, description] : c.subcommands) {
      s << "complete -c runvoy -n '__fish_seen_subcommand_from " << c.name
        << "; and not __fish_seen_subcommand_from " << Join(subs) << "' -a " << name << " -d '"
        << Escape(description, '\'') << "'\n";
    }
    for (const auto& flag : c.flags) {
      if (flag.rfind("--", 0) == 0) {
        s << "complete -c runvoy -n '__fish_seen_subcommand_from " << c.name << "' -l "
          << flag.substr(2) << "\n";
      }
    }
  }
  return s.str();
}

}  // namespace

const std::vector<CompletionCommand>& CompletionCommands() {
  static const std::vector<CompletionCommand> kCommands = {
      {"run",
       "run a command remotely and stream its output",
       {},
       {"--image", "--git-repo", "--git-ref", "--git-path", "--secret", "--env", "--run-timeout",
        "--detach"}},
      {"logs", "show an execution's output", {}, {"--follow", "--raw"}},
      {"status", "show an execution's status", {}, {}},
      {"kill", "stop a running execution", {}, {}},
      {"list", "list executions, newest first", {}, {"--limit", "--status"}},
      {"claim", "claim your API key with an invitation token", {}, {}},
      {"configure", "set the server URL and API key", {}, {"--endpoint", "--api-key", "--web-url"}},
      {"users",
       "manage users (admin)",
       {{"create", "create a user"}, {"list", "list users"}, {"revoke", "revoke a user's key"}},
       {"--role", "--api-key"}},
      {"images",
       "manage the images commands run in",
       {{"register", "register an image"},
        {"list", "list images"},
        {"show", "show one image"},
        {"unregister", "remove an image"}},
       {"--default", "--cpu", "--memory", "--runtime-platform", "--task-role-name",
        "--task-execution-role-name"}},
      {"secrets",
       "manage secrets",
       {{"create", "create a secret"},
        {"get", "show a secret with its value"},
        {"list", "list secrets"},
        {"update", "change a secret"},
        {"delete", "delete a secret"}},
       {"--description", "--key-name", "--value"}},
      {"playbook",
       "run saved commands from .runvoy/*.yaml",
       {{"list", "list playbooks"}, {"show", "show a playbook"}, {"run", "run a playbook"}},
       {"--image", "--git-repo", "--git-ref", "--git-path", "--secret", "--env", "--param",
        "--run-timeout", "--detach"}},
      {"health",
       "show the server's health (health reconcile: repair)",
       {{"reconcile", "compare the store with the compute provider"}},
       {}},
      {"trace", "show what one request did (admin)", {}, {}},
      {"audit", "check the audit trail (admin)", {{"verify", "verify every hash chain"}}, {}},
      {"version", "show the client's and the server's version", {}, {}},
      {"completion",
       "print a shell completion script",
       {{"bash", "bash"}, {"zsh", "zsh"}, {"fish", "fish"}},
       {}},
      {"server", "run the runvoy server; see `runvoy server --help`", {}, {"--config"}},
  };
  return kCommands;
}

const std::vector<std::string>& GlobalFlagNames() {
  static const std::vector<std::string> kFlags = {"--timeout", "--verbose",  "--debug",
                                                  "--output",  "--no-color", "--help"};
  return kFlags;
}

std::optional<std::string> CompletionScript(std::string_view shell) {
  if (shell == "bash") {
    return Bash();
  }
  if (shell == "zsh") {
    return Zsh();
  }
  if (shell == "fish") {
    return Fish();
  }
  return std::nullopt;
}

}  // namespace runvoy::cli
