// Load on a running server (see bench/run.sh --load): many WebSocket followers of one
// execution, many executions at once, and a soak of runs with followers. Every follower checks
// that it got every line, in order, exactly once (resuming with last_event_id when the server
// closes a slow follower); delivery latency is the time from the line being printed (the
// command prints its own clock) to the follower reading it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/http_client.h"

namespace runvoy::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string url;
  std::string key;
  int server_pid = 0;
  std::string cases = "fanout,fanout-batch,fast,fast-batch,concurrent,soak";
  int followers = 1000;   // fanout: followers of one execution
  int fanout_rate = 100;  // lines per second
  int fanout_seconds = 30;
  int fast_followers = 100;  // fast: followers of one execution
  int fast_rate = 10000;
  int fast_seconds = 10;
  int concurrent = 200;  // executions running at once
  int soak_seconds = 600;
  int soak_rate = 5;  // runs started per second
  int io_threads = 2;
};

double NowUnixMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<float>& values, double p) {
  if (values.empty())
    return 0;
  const std::size_t index =
      std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return values[index];
}

long RssKib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  }
  return -1;
}

long OpenFds(int pid) {
  std::error_code ec;
  long count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return ec ? -1 : count;
}

// CPU time (user + system) of process `pid` so far, in seconds.
double CpuSeconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i) {
    if (i == 14 || i == 15)
      ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// A command that prints `count` lines "<n> <unix seconds with microseconds>" at `rate` per
// second after `delay` seconds (so that followers can connect first), flushing each line.
std::string NumberedLines(int count, int rate, int delay) {
  return fmt::format(
      "sleep {}; exec perl -MTime::HiRes=time,sleep -e '$|=1; $t0=time; for $i (1..{}) {{ "
      "$d=$t0+$i/{}-time; sleep($d) if $d>0.0005; printf(\"%d %.6f\\n\",$i,time) }}'",
      delay, count, rate);
}

class Api {
 public:
  explicit Api(const Options& options) : options_(options) {}

  // POST /run; the 202 body, or null (counted as an error response).
  json::value Run(const std::string& command) {
    const std::string body = json::serialize(json::object{{"command", command}});
    auto response =
        client_.Request("POST", options_.url + "/api/v1/run",
                        {{"X-API-Key", options_.key}, {"Content-Type", "application/json"}}, body,
                        std::chrono::seconds(60));
    if (!response || response->status != 202) {
      std::cerr << "POST /run: "
                << (response ? std::to_string(response->status) + " " + response->body
                             : response.error().message)
                << "\n";
      return nullptr;
    }
    return json::parse(response->body);
  }

  json::value Get(const std::string& path) {
    auto response = client_.Request("GET", options_.url + "/api/v1" + path,
                                    {{"X-API-Key", options_.key}}, "", std::chrono::seconds(120));
    if (!response || response->status != 200)
      return nullptr;
    return json::parse(response->body);
  }

 private:
  const Options& options_;
  common::HttpClient client_;
};

// What one follower saw.
struct FollowResult {
  int64_t lines = 0;         // stdout lines in order
  int64_t out_of_order = 0;  // lines missing, repeated or out of order
  int reconnects = 0;
  bool completed = false;  // got the disconnect frame
  std::string status;
  std::vector<float> latencies_ms;
  std::string error;
};

// Follows one execution's WebSocket on a shared io_context, reconnecting with last_event_id
// when the connection ends before the disconnect frame. `on_done` runs once at the end.
class Follower : public std::enable_shared_from_this<Follower> {
 public:
  Follower(asio::io_context& io, const std::string& url, bool batch, bool latency,
           FollowResult& result, std::function<void()> on_done)
      : io_(io), batch_(batch), latency_(latency), result_(result), on_done_(std::move(on_done)) {
    auto parsed = boost::urls::parse_uri(url);
    host_ = std::string(parsed->host());
    port_ = std::string(parsed->port());
    target_ = std::string(parsed->encoded_target());
  }

  void Start() {
    ws_.emplace(io_);
    tcp::resolver resolver(io_);
    beast::error_code ec;
    const auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec)
      return Fail("resolve: " + ec.message());
    ws_->next_layer().async_connect(
        *endpoints.begin(), [self = shared_from_this()](beast::error_code error) {
          if (error)
            return self->Retry("connect: " + error.message());
          std::string target = self->target_;
          if (self->batch_)
            target += "&batch=1";
          if (!self->last_event_id_.empty())
            target += "&last_event_id=" + self->last_event_id_;
          self->ws_->async_handshake(
              self->host_ + ":" + self->port_, target, [self](beast::error_code handshake_error) {
                if (handshake_error) {
                  return self->Retry("handshake: " + handshake_error.message());
                }
                self->Read();
              });
        });
  }

 private:
  void Read() {
    buffer_.clear();
    ws_->async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        if (self->result_.completed)
          return self->Done();
        return self->Retry("read: " + ec.message());
      }
      const double now = NowUnixMs();
      const std::string frame = beast::buffers_to_string(self->buffer_.data());
      boost::system::error_code parse_error;
      const json::value value = json::parse(frame, parse_error);
      if (parse_error)
        return self->Fail("bad frame");
      if (value.is_array()) {
        for (const json::value& event : value.as_array())
          self->Event(event, now);
      } else {
        self->Event(value, now);
      }
      self->Read();
    });
  }

  void Event(const json::value& value, double now) {
    const json::object& event = value.as_object();
    if (const auto* type = event.if_contains("type")) {
      if (type->as_string() == "disconnect") {
        result_.completed = true;
        if (const auto* status = event.if_contains("status")) {
          result_.status = std::string(status->as_string());
        }
      }
      return;
    }
    last_event_id_ = std::string(event.at("event_id").as_string());
    if (event.at("stream").as_string() != "stdout")
      return;
    const std::string message(event.at("message").as_string());
    char* end = nullptr;
    const long long number = std::strtoll(message.c_str(), &end, 10);
    if (number == next_) {
      ++result_.lines;
    } else {
      ++result_.out_of_order;
    }
    next_ = number + 1;
    if (latency_ && end != nullptr && *end == ' ') {
      const double printed_ms = std::strtod(end + 1, nullptr) * 1000.0;
      result_.latencies_ms.push_back(static_cast<float>(now - printed_ms));
    }
  }

  void Retry(const std::string& why) {
    if (result_.completed)
      return Done();
    if (++result_.reconnects > 50)
      return Fail(why);
    ws_.reset();
    Start();
  }

  void Fail(const std::string& why) {
    result_.error = why;
    Done();
  }

  void Done() {
    if (done_)
      return;
    done_ = true;
    on_done_();
  }

  asio::io_context& io_;
  const bool batch_;
  const bool latency_;
  FollowResult& result_;
  std::function<void()> on_done_;
  std::string host_;
  std::string port_;
  std::string target_;
  std::optional<websocket::stream<tcp::socket>> ws_;
  beast::flat_buffer buffer_;
  std::string last_event_id_;
  long long next_ = 1;
  bool done_ = false;
};

// The io_context the followers run on, with a few threads.
class FollowerPool {
 public:
  explicit FollowerPool(int threads) : guard_(io_.get_executor()) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~FollowerPool() {
    guard_.reset();
    io_.stop();
    for (auto& thread : threads_)
      thread.join();
  }

  // Starts following `url` into `result`.
  void Follow(const std::string& url, bool batch, bool latency, FollowResult& result) {
    {
      std::scoped_lock lock(mutex_);
      ++pending_;
    }
    auto follower = std::make_shared<Follower>(io_, url, batch, latency, result, [this] {
      std::scoped_lock lock(mutex_);
      --pending_;
      changed_.notify_all();
    });
    asio::post(io_, [follower] { follower->Start(); });
  }

  // Waits until every follower is done, up to `limit`; false on timeout.
  bool Wait(std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [this] { return pending_ == 0; });
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;  // guards pending_
  std::condition_variable changed_;
  int pending_ = 0;
};

struct Summary {
  int followers = 0;
  int complete = 0;  // every line in order, exactly once, and the disconnect frame
  int64_t lines = 0;
  int64_t out_of_order = 0;
  int reconnects = 0;
  double p50 = 0;
  double p99 = 0;
  double max = 0;
};

Summary Summarize(std::vector<FollowResult>& results, int64_t expected_lines) {
  Summary summary;
  std::vector<float> latencies;
  for (FollowResult& result : results) {
    ++summary.followers;
    summary.lines += result.lines;
    summary.out_of_order += result.out_of_order;
    summary.reconnects += result.reconnects;
    if (result.completed && result.out_of_order == 0 && result.lines == expected_lines &&
        result.status == "SUCCEEDED") {
      ++summary.complete;
    } else if (!result.error.empty()) {
      std::cerr << "follower: " << result.error << "\n";
    }
    latencies.insert(latencies.end(), result.latencies_ms.begin(), result.latencies_ms.end());
    result.latencies_ms = {};
  }
  if (!latencies.empty()) {
    summary.max = *std::max_element(latencies.begin(), latencies.end());
    summary.p50 = Percentile(latencies, 0.5);
    summary.p99 = Percentile(latencies, 0.99);
  }
  return summary;
}

// N followers of one execution printing `rate` lines per second for `seconds`.
void FanOut(const Options& options, int followers, int rate, int seconds, bool batch) {
  const int lines = rate * seconds;
  Api api(options);
  // Time for every follower to connect before the first line.
  const int delay = 3 + followers / 200;
  const json::value run = api.Run(NumberedLines(lines, rate, delay));
  if (run.is_null())
    throw std::runtime_error("POST /run failed");
  const std::string url(run.at("websocket_url").as_string());
  std::vector<FollowResult> results(static_cast<std::size_t>(followers));
  const long rss_before = RssKib(options.server_pid);
  const double server_cpu_before = CpuSeconds(options.server_pid);
  const double bench_cpu_before = CpuSeconds(static_cast<int>(::getpid()));
  {
    FollowerPool pool(options.io_threads);
    for (FollowResult& result : results)
      pool.Follow(url, batch, true, result);
    std::this_thread::sleep_for(std::chrono::seconds(delay + seconds / 2));
    const long rss_during = RssKib(options.server_pid);
    const long fds_during = OpenFds(options.server_pid);
    if (!pool.Wait(std::chrono::seconds(seconds * 10 + 120))) {
      std::cerr << "some followers did not finish\n";
    }
    const double load = LoadAverage();
    Summary s = Summarize(results, lines);
    fmt::print(
        "| {} followers of one execution printing {} lines/s for {} s{} | {} of {} got all "
        "{} lines in order, exactly once ({} reconnects, {} lines out of order) | delivery "
        "latency p50 {:.1f} ms, p99 {:.1f} ms, max {:.0f} ms | server RSS {:.1f} → {:.1f} MiB, "
        "{} open fds while followed; CPU: server {:.1f} s, followers {:.1f} s; load average "
        "{:.1f} |\n",
        followers, rate, seconds, batch ? " (`&batch=1`)" : "", s.complete, s.followers, lines,
        s.reconnects, s.out_of_order, s.p50, s.p99, s.max, rss_before / 1024.0, rss_during / 1024.0,
        fds_during, CpuSeconds(options.server_pid) - server_cpu_before,
        CpuSeconds(static_cast<int>(::getpid())) - bench_cpu_before, load);
    std::fflush(stdout);
  }
}

// `count` executions running at once, each printing 20 lines, one a second.
void Concurrent(const Options& options, int count) {
  const long rss_before = RssKib(options.server_pid);
  const long fds_before = OpenFds(options.server_pid);
  const std::string command = "for i in $(seq 1 20); do echo $i; sleep 1; done";
  std::vector<std::string> ids;
  std::mutex mutex;  // guards ids and errors
  int errors = 0;
  const auto start = SteadyClock::now();
  {
    std::vector<std::thread> posters;
    for (int t = 0; t < 8; ++t) {
      posters.emplace_back([&, t] {
        Api api(options);
        for (int i = t; i < count; i += 8) {
          const json::value run = api.Run(command);
          std::scoped_lock lock(mutex);
          if (run.is_null()) {
            ++errors;
          } else {
            ids.emplace_back(run.at("execution_id").as_string());
          }
        }
      });
    }
    for (auto& poster : posters)
      poster.join();
  }
  const double started_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  Api api(options);
  std::size_t peak_running = 0;
  long rss_peak = 0;
  long fds_peak = 0;
  for (int i = 0; i < 60; ++i) {
    const json::value running = api.Get("/executions?limit=0&status=RUNNING");
    const std::size_t n = running.is_array() ? running.as_array().size() : 0;
    rss_peak = std::max(rss_peak, RssKib(options.server_pid));
    fds_peak = std::max(fds_peak, OpenFds(options.server_pid));
    peak_running = std::max(peak_running, n);
    if (n >= ids.size() || (peak_running > 0 && n == 0))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  int complete = 0;
  for (const std::string& id : ids) {
    json::value logs;
    for (int i = 0; i < 600; ++i) {
      logs = api.Get("/executions/" + id + "/logs");
      if (!logs.is_null() && logs.at("status").as_string() != "RUNNING" &&
          logs.at("status").as_string() != "STARTING") {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (logs.is_null() || logs.at("status").as_string() != "SUCCEEDED")
      continue;
    int next = 1;
    bool in_order = true;
    for (const json::value& event : logs.at("events").as_array()) {
      if (event.at("stream").as_string() != "stdout")
        continue;
      in_order = in_order && event.at("message").as_string() == std::to_string(next);
      ++next;
    }
    if (in_order && next == 21)
      ++complete;
  }
  fmt::print(
      "| {} executions at once (20 lines each, one a second) | started in {:.1f} s, {} error "
      "responses; {} seen RUNNING at once; {} of {} SUCCEEDED with all 20 lines in order | "
      "server RSS {:.1f} → {:.1f} MiB, open fds {} → {} |\n",
      count, started_s, errors, peak_running, complete, ids.size(), rss_before / 1024.0,
      rss_peak / 1024.0, fds_before, fds_peak);
  std::fflush(stdout);
}

// Starts `rate` runs a second for `seconds`, each followed over WebSocket; samples the
// server's memory and descriptors every 10 s.
void Soak(const Options& options, int seconds, int rate) {
  const std::string command = "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 0.1; done";
  std::vector<std::pair<int, std::pair<long, long>>> samples;  // (second, (rss KiB, fds))
  samples.push_back({0, {RssKib(options.server_pid), OpenFds(options.server_pid)}});
  std::deque<FollowResult> results;  // stable addresses
  int errors = 0;
  int started = 0;
  {
    FollowerPool pool(options.io_threads);
    Api api(options);
    const auto start = SteadyClock::now();
    int next_sample = 10;
    for (int i = 0; i < seconds * rate; ++i) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / rate));
      const json::value run = api.Run(command);
      if (run.is_null()) {
        ++errors;
        continue;
      }
      ++started;
      results.emplace_back();
      pool.Follow(std::string(run.at("websocket_url").as_string()), false, false, results.back());
      const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
      if (elapsed >= next_sample) {
        samples.push_back({next_sample, {RssKib(options.server_pid), OpenFds(options.server_pid)}});
        std::fprintf(stderr, "soak %d s: RSS %.1f MiB, %ld fds, %d runs, %d errors\n", next_sample,
                     samples.back().second.first / 1024.0, samples.back().second.second, started,
                     errors);
        next_sample += 10;
      }
    }
    if (!pool.Wait(std::chrono::seconds(300)))
      std::cerr << "some soak followers did not finish\n";
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long rss_end = RssKib(options.server_pid);
  const long fds_end = OpenFds(options.server_pid);
  int complete = 0;
  int64_t out_of_order = 0;
  std::map<std::string, int> incomplete;  // why, how many
  for (const FollowResult& result : results) {
    if (result.completed && result.out_of_order == 0 && result.lines == 10 &&
        result.status == "SUCCEEDED") {
      ++complete;
    } else if (!result.completed) {
      ++incomplete["no disconnect frame: " + result.error];
    } else if (result.status != "SUCCEEDED") {
      ++incomplete["execution " + result.status];
    } else {
      ++incomplete[fmt::format("{} lines", result.lines)];
    }
    out_of_order += result.out_of_order;
  }
  for (const auto& [why, count] : incomplete) {
    std::fprintf(stderr, "soak: %d followers incomplete: %s\n", count, why.c_str());
  }
  // "Start" is the first sample under load (after 60 s when the soak is that long), so that the
  // allocator's warm-up is not counted as growth.
  const auto& first =
      samples[std::min<std::size_t>(samples.size() > 6 ? 6 : 1, samples.size() - 1)];
  const auto& last = samples.back();
  long rss_max = 0;
  for (const auto& sample : samples)
    rss_max = std::max(rss_max, sample.second.first);
  fmt::print(
      "| soak: {} runs/s for {} s, each followed | {} runs started, {} error responses; {} of {} "
      "followers got all 10 lines in order and SUCCEEDED ({} lines out of order) | server RSS "
      "idle {:.1f} MiB, at {} s {:.1f} MiB, at {} s {:.1f} MiB (max {:.1f}), after {:.1f} MiB; "
      "open fds idle {}, at {} s {}, at {} s {}, after {} |\n",
      rate, seconds, started, errors, complete, results.size(), out_of_order,
      samples[0].second.first / 1024.0, first.first, first.second.first / 1024.0, last.first,
      last.second.first / 1024.0, rss_max / 1024.0, rss_end / 1024.0, samples[0].second.second,
      first.first, first.second.second, last.first, last.second.second, fds_end);
  std::fflush(stdout);
}

void RaiseFileLimit() {
  struct rlimit files;
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
}

bool Wants(const Options& options, const std::string& name) {
  return ("," + options.cases + ",").find("," + name + ",") != std::string::npos;
}

void Run(const Options& options) {
  RaiseFileLimit();
  fmt::print("| case | correctness | latency / rate | server |\n|---|---|---|---|\n");
  std::fflush(stdout);
  if (Wants(options, "fanout")) {
    FanOut(options, options.followers, options.fanout_rate, options.fanout_seconds, false);
  }
  if (Wants(options, "fanout-batch")) {
    FanOut(options, options.followers, options.fanout_rate, options.fanout_seconds, true);
  }
  if (Wants(options, "fast")) {
    FanOut(options, options.fast_followers, options.fast_rate, options.fast_seconds, false);
  }
  if (Wants(options, "fast-batch")) {
    FanOut(options, options.fast_followers, options.fast_rate, options.fast_seconds, true);
  }
  if (Wants(options, "concurrent"))
    Concurrent(options, options.concurrent);
  if (Wants(options, "soak"))
    Soak(options, options.soak_seconds, options.soak_rate);
}

}  // namespace
}  // namespace runvoy::bench

int main(int argc, char** argv) {
  runvoy::bench::Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--url")
      options.url = value;
    if (flag == "--key")
      options.key = value;
    if (flag == "--server-pid")
      options.server_pid = std::stoi(value);
    if (flag == "--cases")
      options.cases = value;
    if (flag == "--followers")
      options.followers = std::stoi(value);
    if (flag == "--fanout-seconds")
      options.fanout_seconds = std::stoi(value);
    if (flag == "--fast-followers")
      options.fast_followers = std::stoi(value);
    if (flag == "--fast-rate")
      options.fast_rate = std::stoi(value);
    if (flag == "--fast-seconds")
      options.fast_seconds = std::stoi(value);
    if (flag == "--concurrent")
      options.concurrent = std::stoi(value);
    if (flag == "--soak-seconds")
      options.soak_seconds = std::stoi(value);
    if (flag == "--soak-rate")
      options.soak_rate = std::stoi(value);
    if (flag == "--io-threads")
      options.io_threads = std::stoi(value);
  }
  if (options.url.empty() || options.key.empty() || options.server_pid == 0) {
    std::cerr << "usage: runvoy_load_bench --url URL --key ADMIN_KEY --server-pid PID\n"
                 "  [--cases fanout,fanout-batch,fast,fast-batch,concurrent,soak] [--followers 1000]\n"
                 "  [--fanout-seconds 30]"
                 "  [--fast-followers 100] [--fast-rate 10000] [--fast-seconds 10]\n"
                 "  [--concurrent 200] [--soak-seconds 600] [--soak-rate 5] [--io-threads 2]\n";
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
