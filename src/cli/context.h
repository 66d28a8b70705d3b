#pragma once

#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <boost/json/value.hpp>

#include "cli/api_client.h"
#include "cli/config_store.h"
#include "cli/environment.h"
#include "cli/output.h"
#include "core/error.h"

namespace runvoy::cli {

// Exit codes of SPEC.md §4.
inline constexpr int kExitOk = 0;
inline constexpr int kExitApiError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRunvoyFailed = 125;  // run / logs -f / playbook run

struct Terminal {
  bool stdin_tty = false;
  bool stdout_tty = false;
  bool stderr_tty = false;
};

using ApiFactory = std::function<std::unique_ptr<ApiClient>(const HttpApiClientOptions&)>;

// Everything the CLI takes from the outside world, so tests can run it without a process,
// a terminal or a server.
struct CliIo {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  Environment env;
  Terminal terminal;
  ApiFactory api_factory;  // unset: the real HTTP client
  std::chrono::milliseconds poll_interval{1000};
  bool handle_signals = true;
};

struct GlobalFlags {
  std::chrono::milliseconds timeout{600'000};
  bool verbose = false;
  bool debug = false;
  OutputFormat format = OutputFormat::kText;
  bool no_color = false;
};

// One invocation's shared state: streams, flags, config and the API client (made on first
// use). Not thread-safe.
class Context {
 public:
  Context(CliIo& io, GlobalFlags flags);

  std::ostream& out() { return io_.out; }
  std::ostream& err() { return io_.err; }
  std::istream& in() { return io_.in; }
  const Environment& env() const { return io_.env; }
  const Terminal& terminal() const { return io_.terminal; }
  const CliIo& io() const { return io_; }
  const GlobalFlags& flags() const { return flags_; }
  const Style& style() const { return style_; }
  bool json() const { return flags_.format == OutputFormat::kJson; }

  // The file config overridden by the environment. Errors when the file is unreadable.
  core::Result<CliConfig> Config();
  // The API client; kInvalidRequest "runvoy is not configured ..." without an endpoint.
  core::Result<ApiClient*> Api();

  // Prints "✗ <message>" for an error of the API (the server's code in brackets, except
  // for an unreachable server) and returns `exit_code`.
  int Fail(const core::Error& error, int exit_code = kExitApiError);
  // The same for an error of runvoy's own (config file, playbook): no code shown.
  int FailLocal(const core::Error& error, int exit_code = kExitApiError);
  int UsageError(const std::string& message);

  // In JSON mode prints the reply's body as is; else calls `text` with the parsed body.
  int Print(const ApiReply& reply, const std::function<void(const boost::json::value&)>& text);

 private:
  CliIo& io_;
  GlobalFlags flags_;
  Style style_;
  std::optional<CliConfig> config_;
  std::unique_ptr<ApiClient> api_;
};

// The message line of an API error as shown to the user (without "✗ "): message, details
// and, when `with_code` and the server answered, the code in brackets.
std::string DescribeError(const core::Error& error, bool with_code = true);

}  // namespace runvoy::cli
