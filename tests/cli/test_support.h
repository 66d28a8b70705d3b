#pragma once

// Test helpers for the CLI: a scripted ApiClient, a temporary HOME and a CLI runner.

#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "cli/context.h"

namespace runvoy::cli::testing {

struct RecordedCall {
  std::string method;
  std::string path;
  std::string body;
};

// An ApiClient answering from a script: for "METHOD path", the queued answers in order (the
// last one repeats). Unscripted requests are 404 NOT_FOUND.
class FakeApi final : public ApiClient {
 public:
  void Reply(const std::string& method, const std::string& path, int status, std::string body) {
    script_[method + " " + path].push_back(ApiReply{status, std::move(body), {}});
  }
  void Error(const std::string& method, const std::string& path, core::Error error) {
    script_[method + " " + path].push_back(tl::unexpected(std::move(error)));
  }

  core::Result<ApiReply> Send(std::string_view method, const std::string& path,
                              const std::string& body) override {
    calls.push_back({std::string(method), path, body});
    auto it = script_.find(std::string(method) + " " + path);
    if (it == script_.end() || it->second.empty()) {
      return core::Fail(core::ErrorCode::kNotFound, "not scripted: " + path);
    }
    auto answer = it->second.front();
    if (it->second.size() > 1)
      it->second.pop_front();
    if (on_send)
      on_send(calls.back());
    return answer;
  }

  std::vector<RecordedCall> calls;
  std::function<void(const RecordedCall&)> on_send;

 private:
  std::map<std::string, std::deque<core::Result<ApiReply>>> script_;
};

// Forwards to a FakeApi the test keeps.
class ApiProxy final : public ApiClient {
 public:
  explicit ApiProxy(FakeApi& target) : target_(target) {}
  core::Result<ApiReply> Send(std::string_view method, const std::string& path,
                              const std::string& body) override {
    return target_.Send(method, path, body);
  }

 private:
  FakeApi& target_;
};

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "runvoy-cli-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs the CLI with a fake API, a temporary HOME and captured streams.
struct CliRun {
  FakeApi api;
  TempDir home;
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in;
  Environment env;
  Terminal terminal;
  HttpApiClientOptions last_options;

  CliRun() {
    env.vars["HOME"] = home.path().string();
    env.vars["RUNVOY_API_ENDPOINT"] = "http://runvoy.test:1234";
    env.vars["RUNVOY_API_KEY"] = "test-key-0123456789abcdef";
  }

  int Run(const std::vector<std::string>& args) {
    out.str("");
    err.str("");
    CliIo io{out, err, in, env, terminal, {}};
    io.api_factory = [this](const HttpApiClientOptions& options) {
      last_options = options;
      return std::make_unique<ApiProxy>(api);
    };
    io.poll_interval = std::chrono::milliseconds(1);
    io.handle_signals = false;
    return RunCliWith(args, io);
  }
};

}  // namespace runvoy::cli::testing
