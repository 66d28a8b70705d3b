// Measures the executions path of a running server and prints a table (see bench/run.sh):
// POST /run → first output line over WebSocket against a bare namespace spawn, executions
// started per second, lines per second delivered to a follower, and server memory per running
// execution.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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
#include "ws_follower.h"

namespace runvoy::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;
  std::string key;
  int server_pid = 0;
  int samples = 100;
};

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

boost::json::value Post(common::HttpClient& client, const Options& options,
                        const std::string& command) {
  const std::string body = boost::json::serialize(boost::json::object{{"command", command}});
  auto response = client.Request("POST", options.url + "/api/v1/run",
                                 {{"X-API-Key", options.key}, {"Content-Type", "application/json"}},
                                 body, std::chrono::seconds(30));
  if (!response || response->status != 202) {
    throw std::runtime_error("POST /run failed: " + (response ? response->body : response.error().message));
  }
  return boost::json::parse(response->body);
}

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
    const auto run = Post(client, options, "echo hi");
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

double ExecutionsPerSecond(const Options& options, int clients, int per_client) {
  std::atomic<int> started{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      common::HttpClient client;
      for (int i = 0; i < per_client; ++i) {
        Post(client, options, "true");
        ++started;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return started / std::chrono::duration<double>(Clock::now() - start).count();
}

double LinesPerSecond(const Options& options, long lines) {
  common::HttpClient client;
  const auto start = Clock::now();
  const auto run = Post(client, options, fmt::format("yes | head -n {}", lines));
  long received = 0;
  FollowWebSocket(std::string(run.at("websocket_url").as_string()) + "&batch=1",
                  [&](const std::string& frame) {
                    const auto value = boost::json::parse(frame);
                    if (value.is_array()) {
                      for (const auto& event : value.as_array()) {
                        if (event.at("stream").as_string() == "stdout") ++received;
                      }
                      return true;
                    }
                    return !value.as_object().contains("type");
                  });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (received != lines) {
    std::cerr << fmt::format("warning: received {} of {} lines\n", received, lines);
  }
  return static_cast<double>(received) / seconds;
}

long RssKib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
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
  const double executions = ExecutionsPerSecond(options, 16, 25);
  const double lines = LinesPerSecond(options, 2000000);

  const long idle = RssKib(options.server_pid);
  common::HttpClient client;
  for (int i = 0; i < 100; ++i) Post(client, options, "sleep 20");
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
    if (flag == "--url") options.url = argv[i + 1];
    if (flag == "--key") options.key = argv[i + 1];
    if (flag == "--server-pid") options.server_pid = std::stoi(argv[i + 1]);
    if (flag == "--samples") options.samples = std::stoi(argv[i + 1]);
  }
  if (options.url.empty() || options.key.empty() || options.server_pid == 0) {
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
