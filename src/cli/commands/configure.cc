#include <memory>

#include <boost/json.hpp>

#include "cli/commands/commands.h"

namespace runvoy::cli {

namespace json = boost::json;

namespace {

// Asks for a value on the terminal; an empty answer keeps `current`.
std::string Prompt(Context& context, const std::string& question, const std::string& current,
                   bool secret) {
  context.err() << question;
  if (!current.empty()) {
    context.err() << " [" << (secret ? "keep current" : current) << "]";
  }
  context.err() << ": " << std::flush;
  std::string answer;
  if (!std::getline(context.in(), answer)) {
    return current;
  }
  while (!answer.empty() && (answer.back() == ' ' || answer.back() == '\r')) {
    answer.pop_back();
  }
  return answer.empty() ? current : answer;
}

int Save(Context& context, const CliConfig& config) {
  const auto path = ConfigFilePath(context.env());
  auto saved = SaveConfigFile(path, config);
  if (!saved) {
    return context.FailLocal(saved.error());
  }
  PrintSuccess(context.err(), context.style(), "configuration saved to " + path.string());
  return kExitOk;
}

// The config file alone (no environment overrides), to edit and save back.
core::Result<CliConfig> FileConfig(Context& context) {
  return LoadConfigFile(ConfigFilePath(context.env()));
}

}  // namespace

void AddConfigCommands(CLI::App& app, Action& action) {
  struct ConfigureArgs {
    std::string endpoint;
    std::string api_key;
    std::string web_url;
  };
  auto args = std::make_shared<ConfigureArgs>();
  CLI::App* configure =
      app.add_subcommand("configure", "set the server URL and API key (prompts on a terminal)");
  configure->add_option("--endpoint", args->endpoint, "server URL, e.g. http://127.0.0.1:56212");
  configure->add_option("--api-key", args->api_key, "your API key");
  configure->add_option("--web-url", args->web_url, "the web viewer's URL (default: the server)");
  configure->callback([&action, args] {
    action = [a = *args](Context& context) {
      auto file = FileConfig(context);
      if (!file) {
        return context.FailLocal(file.error());
      }
      CliConfig config = *file;
      const bool given = !a.endpoint.empty() || !a.api_key.empty() || !a.web_url.empty();
      if (!a.endpoint.empty()) {
        config.api_endpoint = a.endpoint;
      }
      if (!a.api_key.empty()) {
        config.api_key = a.api_key;
      }
      if (!a.web_url.empty()) {
        config.web_url = a.web_url;
      }
      if (!given) {
        if (!context.terminal().stdin_tty) {
          return context.UsageError(
              "not a terminal: use runvoy configure --endpoint URL --api-key KEY");
        }
        config.api_endpoint = Prompt(context, "Server URL", config.api_endpoint, false);
        config.api_key = Prompt(context, "API key", config.api_key, true);
        config.web_url =
            Prompt(context, "Web viewer URL (empty: the server)", config.web_url, false);
      }
      if (config.api_endpoint.empty()) {
        return context.UsageError("the server URL is required");
      }
      if (config.api_endpoint.rfind("http://", 0) != 0 &&
          config.api_endpoint.rfind("https://", 0) != 0) {
        return context.UsageError("the server URL must start with http:// or https://");
      }
      return Save(context, config);
    };
  });

  auto token = std::make_shared<std::string>();
  CLI::App* claim = app.add_subcommand("claim", "claim your API key with an invitation token");
  claim->add_option("token", *token, "the claim token an admin gave you")->required();
  claim->callback([&action, token] {
    action = [t = *token](Context& context) {
      return WithApi(context, [&](ApiClient& api) {
        auto reply = api.Get("/claim/" + UrlEncode(t));
        if (!reply) {
          return context.Fail(reply.error());
        }
        const json::value body = reply->Json();
        const std::string key = Field(body, "api_key");
        if (key == "-") {
          return context.FailLocal({core::ErrorCode::kInternal, "the server sent no API key", {}});
        }
        auto file = FileConfig(context);
        if (!file) {
          return context.FailLocal(file.error());
        }
        CliConfig config = *file;
        config.api_key = key;
        if (config.api_endpoint.empty()) {
          // The endpoint came from RUNVOY_API_ENDPOINT: keep it with the key.
          auto effective = context.Config();
          if (effective) {
            config.api_endpoint = effective->api_endpoint;
          }
        }
        if (context.json()) {
          context.out() << reply->body << "\n";
        }
        PrintSuccess(context.err(), context.style(),
                     "API key claimed for " + Field(body, "user_email"));
        return Save(context, config);
      });
    };
  });
}

}  // namespace runvoy::cli
