#include <memory>

#include <boost/json.hpp>

#include "cli/commands/commands.h"

namespace runvoy::cli {

namespace json = boost::json;

void AddUserCommands(CLI::App& app, Action& action) {
  CLI::App* users = app.add_subcommand("users", "manage users (admin)");
  users->require_subcommand(1);

  struct CreateArgs {
    std::string email;
    std::string role;
    std::string api_key;
  };
  auto create_args = std::make_shared<CreateArgs>();
  CLI::App* create = users->add_subcommand("create", "create a user and print its claim token");
  create->add_option("email", create_args->email, "the user's e-mail address")->required();
  create->add_option("--role", create_args->role, "admin, operator, developer or viewer")
      ->required()
      ->check(CLI::IsMember({"admin", "operator", "developer", "viewer"}));
  create->add_option("--api-key", create_args->api_key,
                     "a chosen API key (20-256 chars of [A-Za-z0-9._~-])");
  create->callback([&action, create_args] {
    action = [args = *create_args](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        json::object body{{"email", args.email}, {"role", args.role}};
        if (!args.api_key.empty()) {
          body["api_key"] = args.api_key;
        }
        auto reply = api.Post("/users/create", body);
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          const json::value* user =
              value.is_object() ? value.as_object().if_contains("user") : nullptr;
          const json::value empty;
          const json::value& u = user != nullptr ? *user : empty;
          PrintSuccess(context.err(), context.style(), "user " + Field(u, "email") + " created");
          PrintRecord(context.out(), {{"email", Field(u, "email")},
                                      {"role", Field(u, "role")},
                                      {"status", Field(u, "status")},
                                      {"claim_token", Field(value, "claim_token")}});
          context.err() << "The user claims the key with: runvoy claim "
                        << Field(value, "claim_token") << "  (valid for 15 minutes)\n";
        });
      });
    };
  });

  CLI::App* list = users->add_subcommand("list", "list users");
  list->callback([&action] {
    action = [](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/users");
        if (!reply) {
          return context.Fail(reply.error());
        }
        return context.Print(*reply, [&](const json::value& value) {
          std::vector<std::vector<std::string>> rows;
          const json::value* users_json =
              value.is_object() ? value.as_object().if_contains("users") : nullptr;
          if (users_json != nullptr && users_json->is_array()) {
            for (const json::value& user : users_json->as_array()) {
              rows.push_back({Field(user, "email"), Field(user, "role"), Field(user, "status"),
                              Field(user, "created_at"), Field(user, "last_used")});
            }
          }
          PrintTable(context.out(), context.style(),
                     {"EMAIL", "ROLE", "STATUS", "CREATED", "LAST USED"}, rows);
        });
      });
    };
  });

  auto revoke_email = std::make_shared<std::string>();
  CLI::App* revoke = users->add_subcommand("revoke", "revoke a user's API key");
  revoke->add_option("email", *revoke_email, "the user's e-mail address")->required();
  revoke->callback([&action, revoke_email] {
    action = [email = *revoke_email](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Post("/users/revoke", json::object{{"email", email}});
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
