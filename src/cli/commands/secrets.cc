#include <memory>

#include <boost/json.hpp>

#include "cli/commands/commands.h"

namespace runvoy::cli {

namespace json = boost::json;

void AddSecretCommands(CLI::App& app, Action& action) {
  CLI::App* secrets = app.add_subcommand("secrets", "manage secrets");
  secrets->require_subcommand(1);

  struct SecretArgs {
    std::string name;
    std::string key_name;
    std::string value;
    std::string description;
  };

  auto create_args = std::make_shared<SecretArgs>();
  CLI::App* create = secrets->add_subcommand("create", "create a secret");
  create->add_option("name", create_args->name, "the secret's name")->required();
  create->add_option("key_name", create_args->key_name, "the environment variable it becomes")
      ->required();
  create->add_option("value", create_args->value, "the value")->required();
  create->add_option("--description", create_args->description, "what it is for");
  create->callback([&action, create_args] {
    action = [args = *create_args](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        json::object body{{"name", args.name}, {"key_name", args.key_name}, {"value", args.value}};
        if (!args.description.empty()) {
          body["description"] = args.description;
        }
        auto reply = api.Post("/secrets", body);
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          PrintSuccess(context.err(), context.style(), Field(value, "message"));
        });
      });
    };
  });

  auto get_name = std::make_shared<std::string>();
  CLI::App* get = secrets->add_subcommand("get", "show a secret with its value");
  get->add_option("name", *get_name, "the secret's name")->required();
  get->callback([&action, get_name] {
    action = [name = *get_name](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/secrets/" + UrlEncode(name));
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          const json::value* secret =
              value.is_object() ? value.as_object().if_contains("secret") : nullptr;
          const json::value& s = secret != nullptr ? *secret : value;
          std::vector<std::pair<std::string, std::string>> fields;
          for (const char* key : {"name", "key_name", "description", "value", "created_by",
                                  "owned_by", "created_at", "updated_at", "updated_by"}) {
            if (s.is_object() && s.as_object().contains(key)) {
              fields.emplace_back(key, Field(s, key));
            }
          }
          PrintRecord(context.out(), fields);
        });
      });
    };
  });

  CLI::App* list = secrets->add_subcommand("list", "list secrets (no values)");
  list->callback([&action] {
    action = [](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/secrets");
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          std::vector<std::vector<std::string>> rows;
          const json::value* list_json =
              value.is_object() ? value.as_object().if_contains("secrets") : nullptr;
          if (list_json != nullptr && list_json->is_array()) {
            for (const json::value& secret : list_json->as_array()) {
              rows.push_back({Field(secret, "name"), Field(secret, "key_name"),
                              Field(secret, "description"), Field(secret, "created_by"),
                              Field(secret, "updated_at")});
            }
          }
          PrintTable(context.out(), context.style(),
                     {"NAME", "KEY NAME", "DESCRIPTION", "CREATED BY", "UPDATED"}, rows);
        });
      });
    };
  });

  auto update_args = std::make_shared<SecretArgs>();
  CLI::App* update = secrets->add_subcommand("update", "change a secret");
  update->add_option("name", update_args->name, "the secret's name")->required();
  update->add_option("--key-name", update_args->key_name, "new environment variable name");
  update->add_option("--value", update_args->value, "new value");
  update->add_option("--description", update_args->description, "new description");
  update->callback([&action, update_args] {
    action = [args = *update_args](Context& context) {
      if (args.key_name.empty() && args.value.empty() && args.description.empty()) {
        return context.UsageError("nothing to update: give --key-name, --value or --description");
      }
      return WithApi(context, [&](ApiClient& api) {
        json::object body;
        if (!args.key_name.empty()) {
          body["key_name"] = args.key_name;
        }
        if (!args.value.empty()) {
          body["value"] = args.value;
        }
        if (!args.description.empty()) {
          body["description"] = args.description;
        }
        auto reply = api.Put("/secrets/" + UrlEncode(args.name), body);
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          PrintSuccess(context.err(), context.style(), Field(value, "message"));
        });
      });
    };
  });

  auto delete_name = std::make_shared<std::string>();
  CLI::App* remove = secrets->add_subcommand("delete", "delete a secret");
  remove->add_option("name", *delete_name, "the secret's name")->required();
  remove->callback([&action, delete_name] {
    action = [name = *delete_name](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Delete("/secrets/" + UrlEncode(name));
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          PrintSuccess(context.err(), context.style(), Field(value, "message"));
        });
      });
    };
  });
}

}  // namespace runvoy::cli
