#include <memory>

#include <boost/json.hpp>

#include "cli/commands/commands.h"
#include "cli/commands/run_request.h"
#include "cli/log_follower.h"
#include "cli/log_printer.h"
#include "core/status.h"

namespace runvoy::cli {

namespace json = boost::json;

namespace {

InterruptChoice AskKillOrDetach(Context& context) {
  context.err() << "\nKill the execution or detach (it keeps running)? [k/d] " << std::flush;
  std::string answer;
  if (!std::getline(context.in(), answer)) {
    return InterruptChoice::kDetach;
  }
  return (!answer.empty() && (answer[0] == 'k' || answer[0] == 'K')) ? InterruptChoice::kKill
                                                                     : InterruptChoice::kDetach;
}

// Follows an execution and turns the outcome into the exit code of run / logs -f.
int FollowToExit(Context& context, ApiClient& api, LogPrinter& printer,
                 const std::string& execution_id, const std::string& websocket_url) {
  FollowOptions options;
  options.poll_interval = context.io().poll_interval;
  options.handle_signals = context.io().handle_signals;
  if (context.terminal().stdin_tty && context.terminal().stderr_tty) {
    options.on_interrupt = [&context] { return AskKillOrDetach(context); };
  }
  LogFollower follower(api, printer, context.err(), context.style(), options);
  auto outcome = follower.Follow(execution_id, websocket_url);
  if (!outcome) {
    return context.Fail(outcome.error(), kExitRunvoyFailed);
  }
  if (outcome->detached) {
    return kExitOk;
  }
  if (context.flags().verbose || context.terminal().stderr_tty) {
    context.err() << context.style().Dim("execution " + execution_id + " " + outcome->status +
                                         ", exit code " + std::to_string(outcome->exit_code))
                  << "\n";
  }
  return outcome->exit_code < 0 || outcome->exit_code > 255 ? kExitRunvoyFailed
                                                            : outcome->exit_code;
}

}  // namespace

int StartAndFollow(Context& context, const json::object& request, bool detach) {
  return WithApi(
      context,
      [&](ApiClient& api) {
        auto reply = api.Post("/run", request);
        if (!reply) {
          return context.Fail(reply.error(), kExitRunvoyFailed);
        }
        const json::value body = reply->Json();
        const std::string id = Field(body, "execution_id");
        if (context.json()) {
          // JSON output means "give me the run response": printed as is, nothing followed.
          context.out() << reply->body << (reply->body.ends_with("\n") ? "" : "\n");
          return kExitOk;
        }
        if (detach) {
          context.out() << id << "\n";
          return kExitOk;
        }
        auto config = context.Config();
        context.err() << context.style().Dim("execution " + id) << "\n";
        if (config) {
          context.err() << context.style().Dim("logs: " + ViewerLink(*config, id)) << "\n";
        }
        LogPrinter printer(context.out(), context.err());
        const json::value* ws =
            body.is_object() ? body.as_object().if_contains("websocket_url") : nullptr;
        return FollowToExit(context, api, printer, id,
                            ws != nullptr && ws->is_string() ? std::string(ws->as_string()) : "");
      },
      kExitRunvoyFailed);
}

void AddRunCommands(CLI::App& app, Action& action) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand("run", "run a command remotely and stream its output");
  run->prefix_command();
  // The command's words belong to the command, never to `runvoy`: global flags go before
  // `run`.
  run->fallthrough(false);
  // Shown in the help only: the words are collected verbatim from remaining(). The validator
  // refuses every word so that CLI11 never binds one here and a "--" is kept for us.
  run->validate_positionals();
  run->add_option("command", args->command_words, "the command and its arguments")
      ->check(CLI::Validator([](std::string&) { return std::string("verbatim"); }, ""))
      ->type_name("WORDS");
  run->footer(
      "The command's words follow the options (use -- before a command that starts "
      "with -); they are joined with spaces and run by /bin/sh -c.\n"
      "RUNVOY_USER_<NAME>=value in your environment is passed as <NAME>=value.\n"
      "Exit code: the command's; 125 when runvoy itself failed.");
  run->add_option("-i,--image", args->image, "image ID or reference (default: the default image)");
  run->add_option("-g,--git-repo", args->git_repo, "git repository to clone first");
  run->add_option("-r,--git-ref", args->git_ref, "branch, tag or commit");
  run->add_option("-p,--git-path", args->git_path, "working directory inside the repository");
  run->add_option("--secret", args->secrets, "secret to inject (repeatable)")
      ->allow_extra_args(false);
  run->add_option("-e,--env", args->env, "environment variable K=V (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--run-timeout", args->run_timeout, "time limit, e.g. 90s, 10m, 1h");
  run->add_flag("-d,--detach", args->detach, "print the execution ID and return");
  run->callback([&action, args, run] {
    RunArgs copy = *args;
    copy.command_words = run->remaining();
    action = [copy](Context& context) {
      if (!copy.command_words.empty() && copy.command_words[0].size() > 1 &&
          copy.command_words[0][0] == '-' && copy.command_words[0] != "--") {
        return context.UsageError("unknown option for run: " + copy.command_words[0] +
                                  " (put -- before a command that starts with -)");
      }
      auto request = BuildRunRequest(copy, context.env());
      if (!request) {
        return context.UsageError(request.error().message);
      }
      return StartAndFollow(context, *request, copy.detach);
    };
  });

  struct LogsArgs {
    std::string id;
    bool follow = false;
    bool raw = false;
  };
  auto logs_args = std::make_shared<LogsArgs>();
  CLI::App* logs = app.add_subcommand("logs", "show an execution's output");
  logs->add_option("execution_id", logs_args->id, "the execution ID")->required();
  logs->add_flag("-f,--follow", logs_args->follow, "keep following until it ends");
  logs->add_flag("--raw", logs_args->raw, "print the raw lines, not a table");
  logs->callback([&action, logs_args] {
    action = [a = *logs_args](Context& context) {
      const int api_error_exit = a.follow ? kExitRunvoyFailed : kExitApiError;
      return WithApi(
          context,
          [&](ApiClient& api) {
            const std::string base = "/executions/" + UrlEncode(a.id) + "/logs";
            std::vector<LogEvent> events;
            std::string status;
            std::string websocket_url;
            std::string after;
            while (true) {
              auto reply = api.Get(after.empty() ? base : base + "?after=" + UrlEncode(after));
              if (!reply) {
                return context.Fail(reply.error(), api_error_exit);
              }
              if (context.json() && !a.follow) {
                context.out() << reply->body << (reply->body.ends_with("\n") ? "" : "\n");
                return kExitOk;
              }
              const json::value body = reply->Json();
              const json::value* list =
                  body.is_object() ? body.as_object().if_contains("events") : nullptr;
              if (list != nullptr) {
                auto page = ParseLogEvents(*list);
                events.insert(events.end(), page.begin(), page.end());
              }
              status = Field(body, "status");
              const json::value* ws =
                  body.is_object() ? body.as_object().if_contains("websocket_url") : nullptr;
              websocket_url = ws != nullptr && ws->is_string() ? std::string(ws->as_string()) : "";
              const json::value* next =
                  body.is_object() ? body.as_object().if_contains("next_after") : nullptr;
              if (next == nullptr || !next->is_string() || next->as_string().empty()) {
                break;
              }
              after = std::string(next->as_string());
            }
            if (!a.follow) {
              if (context.terminal().stdout_tty && !a.raw) {
                PrintLogTable(context.out(), context.style(), JoinLogLines(events));
              } else {
                LogPrinter printer(context.out(), context.err());
                for (const LogEvent& event : events) {
                  printer.Write(event);
                }
              }
              return kExitOk;
            }
            LogPrinter printer(context.out(), context.err());
            for (const LogEvent& event : events) {
              printer.Write(event);
            }
            if (!after.empty() && EventIdBefore(printer.last_event_id(), after)) {
              printer.SkipThrough(after);
            }
            // A finished execution has no websocket_url: the follower then reads the exit code.
            return FollowToExit(context, api, printer, a.id, websocket_url);
          },
          api_error_exit);
    };
  });
}

}  // namespace runvoy::cli
