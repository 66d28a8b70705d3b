#pragma once

// Child processes for end-to-end tests: the real runvoy server and CLI, started and stopped by
// PID.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace runvoy::testing {

struct ProcessResult {
  int exit_code = -1;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `argv` to completion with `env` added to (or replacing in) this process's environment,
// `input` on its stdin. Aborts the test run if it outlives `timeout` (it is killed first).
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {},
                         const std::string& input = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

// A process running in the background whose stdout lines can be awaited.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const std::string& stderr_path);
  ~BackgroundProcess();  // SIGKILL if still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  // The next stdout line, or "" when stdout closed or `deadline` passed.
  std::string ReadLine(std::chrono::milliseconds deadline);
  // Sends `signal` and waits for the exit; returns the exit code (128+signal if killed).
  int Stop(int signal, std::chrono::seconds wait = std::chrono::seconds(20));
  bool Running();

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  int exit_code_ = -1;
};

std::string MakeTempDir(const std::string& prefix);
std::string ReadFile(const std::string& path);

}  // namespace runvoy::testing
