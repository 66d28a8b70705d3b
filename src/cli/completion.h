#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runvoy::cli {

// A command as completion scripts know it.
struct CompletionCommand {
  std::string name;
  std::string description;
  std::vector<std::pair<std::string, std::string>> subcommands;  // name, description
  std::vector<std::string> flags;
};

// Every command of `runvoy`, `server` included.
const std::vector<CompletionCommand>& CompletionCommands();
// Flags that every command takes.
const std::vector<std::string>& GlobalFlagNames();

// The completion script for "bash", "zsh" or "fish"; nullopt for another shell.
std::optional<std::string> CompletionScript(std::string_view shell);

}  // namespace runvoy::cli
