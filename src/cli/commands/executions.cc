#include <cmath>
#include <memory>

#include <boost/json.hpp>

#include "cli/commands/commands.h"
#include "core/status.h"

namespace runvoy::cli {

namespace json = boost::json;

namespace {

std::string Duration(const json::value& execution) {
  const json::value* seconds =
      execution.is_object() ? execution.as_object().if_contains("duration_seconds") : nullptr;
  if (seconds == nullptr || !seconds->is_number()) {
    return "-";
  }
  const long long total = std::llround(seconds->to_number<double>());
  if (total < 60) {
    return std::to_string(total) + "s";
  }
  if (total < 3600) {
    return std::to_string(total / 60) + "m" + std::to_string(total % 60) + "s";
  }
  return std::to_string(total / 3600) + "h" + std::to_string(total % 3600 / 60) + "m";
}

void PrintExecutionTable(Context& context, const json::value& list) {
  std::vector<std::vector<std::string>> rows;
  if (list.is_array()) {
    for (const json::value& e : list.as_array()) {
      rows.push_back({Field(e, "execution_id"), Field(e, "status"), Field(e, "exit_code"),
                      Field(e, "created_by"), Field(e, "started_at"), Duration(e),
                      Abbreviate(Field(e, "command"), 60)});
    }
  }
  PrintTable(context.out(), context.style(),
             {"EXECUTION ID", "STATUS", "EXIT", "USER", "STARTED", "DURATION", "COMMAND"}, rows);
}

}  // namespace

void AddExecutionCommands(CLI::App& app, Action& action) {
  auto status_id = std::make_shared<std::string>();
  CLI::App* status = app.add_subcommand("status", "show an execution's status");
  status->add_option("execution_id", *status_id, "the execution ID")->required();
  status->callback([&action, status_id] {
    action = [id = *status_id](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/executions/" + UrlEncode(id) + "/status");
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          std::vector<std::pair<std::string, std::string>> fields;
          for (const char* key : {"execution_id", "status", "exit_code", "command", "image_id",
                                  "started_at", "completed_at"}) {
            fields.emplace_back(key, Field(value, key));
          }
          PrintRecord(context.out(), fields);
        });
      });
    };
  });

  auto kill_id = std::make_shared<std::string>();
  CLI::App* kill = app.add_subcommand("kill", "stop a running execution");
  kill->add_option("execution_id", *kill_id, "the execution ID")->required();
  kill->callback([&action, kill_id] {
    action = [id = *kill_id](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Delete("/executions/" + UrlEncode(id));
        if (!reply) {
          return context.Fail(reply.error());
        }
        if (reply->status == 204) {
          if (context.json()) {
            context.out() << json::serialize(json::object{{"execution_id", id},
                                                          {"message", "already finished"}})
                          << "\n";
          } else {
            PrintInfo(context.err(), context.style(),
                      "execution " + id + " has already finished (or is being stopped)");
          }
          return kExitOk;
        }
        return context.Print(*reply, [&](const json::value& value) {
          PrintSuccess(context.err(), context.style(), Field(value, "message"));
        });
      });
    };
  });

  struct ListArgs {
    int limit = 10;
    std::string statuses;
  };
  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = app.add_subcommand("list", "list executions, newest first");
  list->add_option("--limit", list_args->limit, "how many (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  list->add_option("--status", list_args->statuses, "only these statuses, e.g. RUNNING,FAILED");
  list->callback([&action, list_args] {
    action = [args = *list_args](Context& context) {
      std::string statuses;
      std::string rest = args.statuses;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string name = rest.substr(0, comma);
        rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
        for (char& c : name) {
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (name.empty()) {
          continue;
        }
        if (!core::ParseStatus(name)) {
          return context.UsageError("unknown status: " + name);
        }
        statuses += (statuses.empty() ? "" : ",") + name;
      }
      return WithApi(context, [&](ApiClient& api) {
        std::string path = "/executions?limit=" + std::to_string(args.limit);
        if (!statuses.empty()) {
          path += "&status=" + UrlEncode(statuses);
        }
        auto reply = api.Get(path);
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(
            *reply, [&](const json::value& value) { PrintExecutionTable(context, value); });
      });
    };
  });
}

}  // namespace runvoy::cli
