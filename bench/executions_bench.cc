// Measures the executions path of a running server and prints a table (see bench/run.sh):
// POST /run → first output line over WebSocket against a bare namespace spawn, executions
// started per second, lines per second delivered to a follower, and server memory per running
// execution.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/http_client.h"
#include "measures.h"
#include "ws_follower.h"

namespace runvoy::bench {
namespace {

struct Options {
  Target target;
  int server_pid = 0;
  int samples = 100;
};

// A bare `unshare` of the same namespaces running `true`, the floor for any sandbox.
std::vector<double> BareNamespaceSpawns(int samples) {
  std::vector<double> times;
  for (int i = 0; i < samples; ++i) {
    const auto start = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      execlp("unshare", "unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "true",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    times.push_back(Millis(Clock::now() - start));
  }
  return times;
}

std::vector<double> FirstLineLatencies(const Options& options) {
  common::HttpClient client;
  std::vector<double> times;
  for (int i = 0; i < options.samples; ++i) {
    const auto start = Clock::now();
    const auto run = PostRun(client, options.target, "echo hi");
    double first = -1;
    FollowWebSocket(std::string(run.at("websocket_url").as_string()), [&](const std::string& frame) {
      const auto event = boost::json::parse(frame);
      if (event.as_object().contains("stream") && event.at("stream").as_string() == "stdout") {
        first = Millis(Clock::now() - start);
        return false;
      }
      return !event.as_object().contains("type");
    });
    if (first >= 0) times.push_back(first);
  }
  return times;
}

// The supervisors (`runvoy __supervise`) that own running executions: how many, and their RSS.
std::pair<int, long> SupervisorsRssKib() {
  int count = 0;
  long total = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline");
    std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (args.find(std::string("__supervise") + '\0') == std::string::npos) continue;
    const long rss = RssKib(std::stoi(name));
    if (rss > 0) {
      ++count;
      total += rss;
    }
  }
  return {count, total};
}

void Run(const Options& options) {
  const auto bare = BareNamespaceSpawns(options.samples);
  const auto first = FirstLineLatencies(options);
  const double bare_p50 = Percentile(bare, 0.5);
  const double first_p50 = Percentile(first, 0.5);
  const double first_p99 = Percentile(first, 0.99);
  const double executions = ExecutionsPerSecond(options.target, 16, 25);
  const double lines = LinesPerSecond(options.target, 2000000);

  const long idle = RssKib(options.server_pid);
  common::HttpClient client;
  for (int i = 0; i < 100; ++i) PostRun(client, options.target, "sleep 20");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const long busy = RssKib(options.server_pid);
  const auto [supervisors, supervisors_rss] = SupervisorsRssKib();

  fmt::print("| measure | value | baseline / target |\n|---|---|---|\n");
  fmt::print("| bare `unshare --fork --pid --mount --uts --ipc --net true`, median | {:.1f} ms | (baseline) |\n",
             bare_p50);
  fmt::print("| POST /run → first line over WebSocket, `echo hi`, median of {} | {:.1f} ms | {:.1f}× the bare spawn; target ≤ 20 ms |\n",
             first.size(), first_p50, first_p50 / bare_p50);
  fmt::print("| same, p99 | {:.1f} ms | |\n", first_p99);
  fmt::print("| executions started per second, 16 clients | {:.0f} /s | target ≥ 100 /s |\n", executions);
  fmt::print("| lines per second stored and delivered (`yes | head -n 2000000`) | {:.0f} /s | target ≥ 200,000 /s |\n",
             lines);
  fmt::print("| server RSS idle | {:.1f} MiB | |\n", idle / 1024.0);
  fmt::print("| server RSS with 100 running executions | {:.1f} MiB | {:.2f} MiB per execution; target ≤ 2 MiB |\n",
             busy / 1024.0, (busy - idle) / 1024.0 / 100.0);
  fmt::print("| `runvoy __supervise` processes outside the server (supervisor and sandbox init, two per execution), mean RSS of {} (shared pages counted in each) | {:.2f} MiB | |\n",
             supervisors, supervisors > 0 ? supervisors_rss / 1024.0 / supervisors : 0.0);
}

}  // namespace
}  // namespace runvoy::bench

int main(int argc, char** argv) {
  runvoy::bench::Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--url") options.target.url = argv[i + 1];
    if (flag == "--key") options.target.key = argv[i + 1];
    if (flag == "--server-pid") options.server_pid = std::stoi(argv[i + 1]);
    if (flag == "--samples") options.samples = std::stoi(argv[i + 1]);
  }
  if (options.target.url.empty() || options.target.key.empty() || options.server_pid == 0) {
    std::cerr << "usage: runvoy_bench --url URL --key ADMIN_KEY --server-pid PID [--samples N]\n";
    return 2;
  }
  try {
    runvoy::bench::Run(options);
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
