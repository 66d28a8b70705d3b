#pragma once

// Measurements shared by the benchmarks, against a running server on loopback.

#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/http_client.h"

namespace runvoy::bench {

using Clock = std::chrono::steady_clock;

// The server a benchmark drives, and an admin's key for it.
struct Target {
  std::string url;
  std::string key;
};

double Millis(Clock::duration d);
// The value below which a fraction `p` (0..1) of `values` lies; `values` must not be empty.
double Percentile(std::vector<double> values, double p);

// POST /run of `command` as the target's key; throws with the answer when it is not 202.
boost::json::value PostRun(common::HttpClient& client, const Target& target,
                           const std::string& command);
// GET `path` as the target's key; throws when the status is not 200.
std::string Get(common::HttpClient& client, const Target& target, const std::string& path);

// Executions started per second by `clients` clients of `per_client` `true` runs each.
double ExecutionsPerSecond(const Target& target, int clients, int per_client);
// Log lines per second stored and delivered to one WebSocket follower of `yes | head -n lines`.
double LinesPerSecond(const Target& target, long lines);

// A process's resident memory in KiB; -1 when it cannot be read.
long RssKib(int pid);

}  // namespace runvoy::bench
