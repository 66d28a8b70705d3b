#include "cli/cli.h"

#include <iostream>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "cli/commands/commands.h"
#include "core/time.h"

namespace runvoy::cli {

int RunCliWith(const std::vector<std::string>& args, CliIo& io) {
  CLI::App app("runvoy: run commands in isolated containers on a runvoy server", "runvoy");
  app.fallthrough();
  app.footer(
      "Other commands:\n"
      "  server      run the runvoy server; see `runvoy server --help`\n\n"
      "Configuration: ~/.runvoy/config.yaml, or RUNVOY_API_ENDPOINT / RUNVOY_API_KEY / "
      "RUNVOY_WEB_URL.");

  std::string timeout_text = "10m";
  std::string output_text = "text";
  GlobalFlags flags;
  app.add_option("--timeout", timeout_text, "time limit of each HTTP call (e.g. 30s, 10m)")
      ->capture_default_str();
  app.add_flag("--verbose", flags.verbose, "say more");
  app.add_flag("--debug", flags.debug, "print each HTTP request");
  app.add_option("-o,--output", output_text, "output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("--no-color", flags.no_color, "no colours (also: NO_COLOR)");
  app.set_version_flag("--version", ClientVersion());

  Action action;
  AddRunCommands(app, action);
  AddExecutionCommands(app, action);
  AddConfigCommands(app, action);
  AddUserCommands(app, action);
  AddImageCommands(app, action);
  AddSecretCommands(app, action);
  AddPlaybookCommands(app, action);
  AddHealthCommands(app, action);
  AddAuditCommands(app, action);
  AddCompletionCommand(app, action);
  CLI::App* server =
      app.add_subcommand("server", "run the runvoy server; see `runvoy server --help`");
  server->allow_extras();
  server->group("");  // listed in the footer; main.cc runs it before the CLI is reached

  // CLI11 wants argv order reversed when given a vector.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::ParseError& e) {
    Style style(false);
    PrintFailure(io.err, style, e.what());
    io.err << "  run `runvoy --help` for usage\n";
    return kExitUsage;
  }

  flags.format = output_text == "json" ? OutputFormat::kJson : OutputFormat::kText;
  const auto timeout = core::ParseDuration(timeout_text);
  if (!timeout || timeout->count() <= 0) {
    Context context(io, flags);
    return context.UsageError("invalid --timeout `" + timeout_text + "` (use e.g. 30s, 10m)");
  }
  flags.timeout = *timeout;
  Context context(io, flags);
  if (server->parsed()) {
    return context.UsageError("`runvoy server` is started by the runvoy binary itself");
  }
  if (!action) {
    io.out << app.help();
    return args.empty() ? kExitOk : kExitUsage;
  }
  return action(context);
}

int RunCli(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    args.emplace_back(argv[i]);
  }
  CliIo io{std::cout, std::cerr, std::cin, Environment::FromProcess(), {}, {}};
  io.terminal.stdin_tty = isatty(STDIN_FILENO) == 1;
  io.terminal.stdout_tty = isatty(STDOUT_FILENO) == 1;
  io.terminal.stderr_tty = isatty(STDERR_FILENO) == 1;
  return RunCliWith(args, io);
}

}  // namespace runvoy::cli
