#include "measures.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "ws_follower.h"

namespace runvoy::bench {

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

boost::json::value PostRun(common::HttpClient& client, const Target& target,
                           const std::string& command) {
  const std::string body = boost::json::serialize(boost::json::object{{"command", command}});
  auto response = client.Request("POST", target.url + "/api/v1/run",
                                 {{"X-API-Key", target.key}, {"Content-Type", "application/json"}},
                                 body, std::chrono::seconds(30));
  if (!response || response->status != 202) {
    throw std::runtime_error("POST /run failed: " +
                             (response ? response->body : response.error().message));
  }
  return boost::json::parse(response->body);
}

std::string Get(common::HttpClient& client, const Target& target, const std::string& path) {
  auto response = client.Request("GET", target.url + path, {{"X-API-Key", target.key}}, "",
                                 std::chrono::seconds(30));
  if (!response || response->status != 200) {
    throw std::runtime_error("GET " + path + " failed: " +
                             (response ? response->body : response.error().message));
  }
  return response->body;
}

double ExecutionsPerSecond(const Target& target, int clients, int per_client) {
  std::atomic<int> started{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      common::HttpClient client;
      for (int i = 0; i < per_client; ++i) {
        PostRun(client, target, "true");
        ++started;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return started / std::chrono::duration<double>(Clock::now() - start).count();
}

double LinesPerSecond(const Target& target, long lines) {
  common::HttpClient client;
  const auto start = Clock::now();
  const auto run = PostRun(client, target, fmt::format("yes | head -n {}", lines));
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

}  // namespace runvoy::bench
