#include <memory>

#include <boost/json.hpp>

#include "cli/commands/commands.h"

#ifndef RUNVOY_VERSION
#define RUNVOY_VERSION "0.0.0"
#endif

namespace runvoy::cli {

namespace json = boost::json;

const char* ClientVersion() {
  return RUNVOY_VERSION;
}

namespace {

const json::value* Member(const json::value& value, std::string_view key) {
  return value.is_object() ? value.as_object().if_contains(key) : nullptr;
}

void PrintReport(Context& context, const json::value& report) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const char* key : {"timestamp", "compute_status", "secrets_status", "authorizer_status",
                          "reconciled_count", "error_count"}) {
    fields.emplace_back(key, Field(report, key));
  }
  PrintRecord(context.out(), fields);
  const json::value* issues = Member(report, "issues");
  if (issues != nullptr && issues->is_array() && !issues->as_array().empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const json::value& issue : issues->as_array()) {
      rows.push_back({Field(issue, "severity"), Field(issue, "resource_type"),
                      Field(issue, "resource_id"), Field(issue, "action"),
                      Field(issue, "message")});
    }
    context.out() << "\n";
    PrintTable(context.out(), context.style(),
               {"SEVERITY", "TYPE", "RESOURCE", "ACTION", "MESSAGE"}, rows);
  }
}

}  // namespace

void AddHealthCommands(CLI::App& app, Action& action) {
  CLI::App* health = app.add_subcommand("health", "show the server's health");
  health->callback([&action, health] {
    if (health->get_subcommands().empty()) {
      action = [](Context& context) {
        return WithApi(context, [&](ApiClient& api) {
          auto reply = api.Get("/health");
          if (!reply) {
            return context.Fail(reply.error());
          }
          return context.Print(*reply, [&](const json::value& value) {
            std::vector<std::pair<std::string, std::string>> fields;
            for (const char* key : {"status", "version", "provider", "region", "store"}) {
              if (Member(value, key) != nullptr) {
                fields.emplace_back(key, Field(value, key));
              }
            }
            PrintRecord(context.out(), fields);
          });
        });
      };
    }
  });
  CLI::App* reconcile = health->add_subcommand(
      "reconcile", "compare the store with the compute provider and repair (admin, operator)");
  reconcile->callback([&action] {
    action = [](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Send("POST", "/health/reconcile", "{}");
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          const json::value* report = Member(value, "report");
          PrintSuccess(context.err(), context.style(), "reconcile " + Field(value, "status"));
          if (report != nullptr) {
            PrintReport(context, *report);
          }
        });
      });
    };
  });

  auto trace_id = std::make_shared<std::string>();
  CLI::App* trace = app.add_subcommand("trace", "show what one request did (admin)");
  trace->add_option("request_id", *trace_id, "the request ID (X-Request-ID)")->required();
  trace->callback([&action, trace_id] {
    action = [id = *trace_id](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/trace/" + UrlEncode(id));
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          const json::value* logs = Member(value, "logs");
          if (logs != nullptr && logs->is_array()) {
            for (const json::value& line : logs->as_array()) {
              context.out() << Field(line, "timestamp") << "  " << Field(line, "message") << "\n";
            }
          }
          const json::value* related = Member(value, "related_resources");
          if (related != nullptr && related->is_object()) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& [kind, items] : related->as_object()) {
              if (!items.is_array()) {
                continue;
              }
              for (const json::value& item : items.as_array()) {
                std::string id_text = CellText(&item);
                for (const char* key : {"execution_id", "image_id", "name", "email"}) {
                  if (Member(item, key) != nullptr) {
                    id_text = Field(item, key);
                    break;
                  }
                }
                rows.push_back({std::string(kind), id_text});
              }
            }
            context.out() << "\n";
            PrintTable(context.out(), context.style(), {"RESOURCE", "ID"}, rows);
          }
        });
      });
    };
  });

  CLI::App* version = app.add_subcommand("version", "show the client's and the server's version");
  version->callback([&action] {
    action = [](Context& context) {
      json::object result{{"client", ClientVersion()}};
      std::string server_line;
      auto config = context.Config();
      if (config && !config->api_endpoint.empty()) {
        auto api = context.Api();
        if (api) {
          auto reply = (*api)->Get("/health");
          if (reply) {
            result["server"] = Field(reply->Json(), "version");
          } else {
            server_line = DescribeError(reply.error());
          }
        }
      }
      if (context.json()) {
        context.out() << json::serialize(result) << "\n";
        return kExitOk;
      }
      context.out() << "runvoy " << ClientVersion() << "\n";
      if (result.contains("server")) {
        context.out() << "server " << CellText(result.if_contains("server")) << "\n";
      } else if (!server_line.empty()) {
        context.err() << context.style().Yellow("server: ") << server_line << "\n";
      }
      return kExitOk;
    };
  });
}

int WithApi(Context& context, const std::function<int(ApiClient&)>& call, int failure_exit) {
  auto api = context.Api();
  if (!api) {
    return context.FailLocal(api.error(), failure_exit);
  }
  return call(**api);
}

}  // namespace runvoy::cli
