#pragma once

// The subcommands of `runvoy`. Each Add* function declares its subcommands on `app`; when
// one of them is chosen, CLI11 calls its callback, which stores what to run in `action`.

#include <functional>
#include <string>

#include <CLI/App.hpp>

#include "cli/context.h"

namespace runvoy::cli {

using Action = std::function<int(Context&)>;

void AddConfigCommands(CLI::App& app, Action& action);     // configure, claim
void AddUserCommands(CLI::App& app, Action& action);       // users
void AddImageCommands(CLI::App& app, Action& action);      // images
void AddSecretCommands(CLI::App& app, Action& action);     // secrets
void AddHealthCommands(CLI::App& app, Action& action);     // health, trace, version
void AddExecutionCommands(CLI::App& app, Action& action);  // status, kill, list
void AddRunCommands(CLI::App& app, Action& action);        // run, logs
void AddPlaybookCommands(CLI::App& app, Action& action);   // playbook
void AddCompletionCommand(CLI::App& app, Action& action);  // completion
void AddAuditCommands(CLI::App& app, Action& action);      // audit

// Runs `call` with the API client, or reports why there is none and returns `failure_exit`.
int WithApi(Context& context, const std::function<int(ApiClient&)>& call,
            int failure_exit = kExitApiError);

// The client's own version.
const char* ClientVersion();

}  // namespace runvoy::cli
