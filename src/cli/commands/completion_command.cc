#include <memory>

#include "cli/commands/commands.h"
#include "cli/completion.h"

namespace runvoy::cli {

void AddCompletionCommand(CLI::App& app, Action& action) {
  auto shell = std::make_shared<std::string>();
  CLI::App* completion = app.add_subcommand("completion", "print a shell completion script");
  completion->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completion->callback([&action, shell] {
    action = [s = *shell](Context& context) {
      context.out() << *CompletionScript(s);
      return kExitOk;
    };
  });
}

}  // namespace runvoy::cli
