#include "cli/context.h"

#include <utility>

namespace runvoy::cli {

namespace {
bool ColorWanted(const CliIo& io, const GlobalFlags& flags) {
  if (flags.no_color || io.env.Get("NO_COLOR").has_value()) {
    return false;
  }
  if (io.env.Get("TERM") == std::optional<std::string>("dumb")) {
    return false;
  }
  return io.terminal.stderr_tty || io.terminal.stdout_tty;
}
}  // namespace

Context::Context(CliIo& io, GlobalFlags flags)
    : io_(io), flags_(flags), style_(ColorWanted(io, flags)) {}

core::Result<CliConfig> Context::Config() {
  if (config_) {
    return *config_;
  }
  bool too_open = false;
  auto file = LoadConfigFile(ConfigFilePath(io_.env), &too_open);
  if (!file) {
    return tl::unexpected(file.error());
  }
  if (too_open) {
    io_.err << style_.Yellow("warning:") << " " << ConfigFilePath(io_.env).string()
            << " can be read by other users; run `chmod 600` on it\n";
  }
  config_ = ApplyEnvironment(*file, io_.env);
  return *config_;
}

core::Result<ApiClient*> Context::Api() {
  if (api_) {
    return api_.get();
  }
  auto config = Config();
  if (!config) {
    return tl::unexpected(config.error());
  }
  if (config->api_endpoint.empty()) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "runvoy is not configured: run `runvoy configure` or set "
                      "RUNVOY_API_ENDPOINT and RUNVOY_API_KEY");
  }
  HttpApiClientOptions options;
  options.base_url = ApiBaseUrl(config->api_endpoint);
  options.api_key = config->api_key;
  options.timeout = flags_.timeout;
  if (flags_.debug) {
    options.debug_log = &io_.err;
  }
  if (flags_.verbose || flags_.debug) {
    options.verbose_log = &io_.err;
  }
  api_ = io_.api_factory ? io_.api_factory(options) : MakeHttpApiClient(options);
  return api_.get();
}

std::string DescribeError(const core::Error& error, bool with_code) {
  std::string text = error.message;
  if (!error.details.empty()) {
    text += ": " + error.details;
  }
  // An unreachable server sent no code.
  const bool answered = error.code != core::ErrorCode::kServiceUnavailable ||
                        error.message.rfind("cannot reach", 0) != 0;
  if (with_code && answered) {
    text += " (" + std::string(core::ErrorCodeName(error.code)) + ")";
  }
  return text;
}

int Context::Fail(const core::Error& error, int exit_code) {
  PrintFailure(io_.err, style_, DescribeError(error));
  return exit_code;
}

int Context::FailLocal(const core::Error& error, int exit_code) {
  PrintFailure(io_.err, style_, DescribeError(error, false));
  return exit_code;
}

int Context::UsageError(const std::string& message) {
  PrintFailure(io_.err, style_, message);
  return kExitUsage;
}

int Context::Print(const ApiReply& reply,
                   const std::function<void(const boost::json::value&)>& text) {
  if (json()) {
    io_.out << reply.body;
    if (!reply.body.empty() && reply.body.back() != '\n') {
      io_.out << "\n";
    }
    return kExitOk;
  }
  text(reply.Json());
  return kExitOk;
}

}  // namespace runvoy::cli
