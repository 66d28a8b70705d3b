#pragma once

// The real `runvoy server` on 127.0.0.1:0 with a temporary data directory, for end-to-end
// tests, plus the ways a user reaches it: raw HTTP and the real CLI binary.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/http_client.h"
#include "support/process.h"

namespace runvoy::testing {

// The runvoy executable under test (set by CMake).
std::string RunvoyBinary();

struct ApiResponse {
  long status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  boost::json::value json;  // null unless the body is JSON

  std::string Code() const;  // the error code of an error body, else ""
};

class RunvoyServer {
 public:
  // Starts the server with `--seed-admin admin@example.com` and `extra_args`; waits until it
  // listens. The data directory (a fresh one unless `data_dir` is given: servers of a cluster
  // may share one) is kept across Restart(). With RUNVOY_SEED_ADMIN_KEY in `env`, that is the
  // admin's key.
  explicit RunvoyServer(std::vector<std::string> extra_args = {},
                        std::map<std::string, std::string> env = {}, std::string data_dir = {});
  ~RunvoyServer();  // stops the server by PID (SIGTERM, then SIGKILL)

  void Restart();          // SIGTERM and start again on a new port
  int Stop(int signal);    // returns the exit code
  void Kill();             // SIGKILL, like a crash
  void Start();

  const std::string& base_url() const { return base_url_; }
  const std::string& admin_key() const { return admin_key_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  std::string Stderr() const;

  // One request with X-API-Key `key` (none when empty).
  ApiResponse Call(const std::string& method, const std::string& path, const std::string& key,
                   const std::string& body = {},
                   const std::map<std::string, std::string>& headers = {}) const;
  // Registers the reserved image `host` as the default, as the admin; returns the API's answer.
  ApiResponse RegisterHostImage() const;
  // Polls the execution's status as `key` until it has an exit code (up to a minute); returns
  // the status JSON, or null when it never finished.
  boost::json::value WaitFinished(const std::string& execution_id, const std::string& key) const;
  // Creates a user with `role` as the admin and claims its key.
  std::string CreateUser(const std::string& email, const std::string& role) const;
  // Runs the CLI with this server and `key` in its environment, HOME in a fresh directory.
  ProcessResult Cli(const std::vector<std::string>& args, const std::string& key,
                    const std::map<std::string, std::string>& env = {},
                    const std::string& input = {}) const;

 private:
  std::vector<std::string> extra_args_;
  std::map<std::string, std::string> env_;
  std::string data_dir_;
  std::string stderr_file_;
  std::string home_dir_;
  std::string base_url_;
  std::string admin_key_;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace runvoy::testing
