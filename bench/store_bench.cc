// SQLite against PostgreSQL through the same server (see bench/store.sh): authenticated
// GET /executions/{id}/status requests per second over 64 keep-alive connections, POST /run per
// second, and log lines per second stored; one table with PostgreSQL's share of SQLite's rate.

#include <atomic>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "measures.h"

namespace runvoy::bench {
namespace {

struct Figures {
  double status_per_second = 0;
  double runs_per_second = 0;
  double lines_per_second = 0;
};

// `connections` clients, each with its own keep-alive connection, asking the status of one
// execution for `seconds`; every answer must be 200.
double StatusRequestsPerSecond(const Target& target, int connections, int seconds) {
  common::HttpClient setup;
  const auto run = PostRun(setup, target, "true");
  const std::string path =
      "/api/v1/executions/" + std::string(run.at("execution_id").as_string()) + "/status";
  std::atomic<long> answered{0};
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      common::HttpClient client;
      while (!stop) {
        Get(client, target, path);
        ++answered;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& thread : threads) thread.join();
  return answered / std::chrono::duration<double>(Clock::now() - start).count();
}

Figures Measure(const Target& target, int seconds) {
  Figures figures;
  figures.status_per_second = StatusRequestsPerSecond(target, 64, seconds);
  figures.runs_per_second = ExecutionsPerSecond(target, 16, 25);
  figures.lines_per_second = LinesPerSecond(target, 1000000);
  return figures;
}

void Print(const Figures& sqlite, const Figures& postgres) {
  fmt::print("| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |\n|---|---|---|---|\n");
  fmt::print("| GET /executions/{{id}}/status, 64 keep-alive connections | {:.0f} /s | {:.0f} /s | "
             "{:.0f}% (target ≥ 50%) |\n",
             sqlite.status_per_second, postgres.status_per_second,
             100 * postgres.status_per_second / sqlite.status_per_second);
  fmt::print("| POST /run, 16 clients | {:.0f} /s | {:.0f} /s | {:.0f}% |\n",
             sqlite.runs_per_second, postgres.runs_per_second,
             100 * postgres.runs_per_second / sqlite.runs_per_second);
  fmt::print("| log lines stored and delivered (`yes | head -n 1000000`) | {:.0f} /s | {:.0f} /s | "
             "{:.0f}% |\n",
             sqlite.lines_per_second, postgres.lines_per_second,
             100 * postgres.lines_per_second / sqlite.lines_per_second);
}

}  // namespace
}  // namespace runvoy::bench

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  const runvoy::bench::Target sqlite{flags["--sqlite-url"], flags["--sqlite-key"]};
  const runvoy::bench::Target postgres{flags["--postgres-url"], flags["--postgres-key"]};
  const int seconds = flags.count("--seconds") ? std::stoi(flags["--seconds"]) : 10;
  if (sqlite.url.empty() || sqlite.key.empty() || postgres.url.empty() || postgres.key.empty()) {
    std::cerr << "usage: runvoy_store_bench --sqlite-url URL --sqlite-key KEY --postgres-url URL "
                 "--postgres-key KEY [--seconds N]\n";
    return 2;
  }
  try {
    const auto sqlite_figures = runvoy::bench::Measure(sqlite, seconds);
    const auto postgres_figures = runvoy::bench::Measure(postgres, seconds);
    runvoy::bench::Print(sqlite_figures, postgres_figures);
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
