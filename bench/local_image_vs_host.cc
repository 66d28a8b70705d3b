// The local sandbox with a cached OCI image (busybox, pushed to a loopback registry) against the
// reserved image `host`: median of 30 runs of POST /run → first stdout line over WebSocket, and
// of POST /run → end of the execution, with the ratio (target ≤ 1.5). Run by
// bench/local_image_vs_host.sh, which starts the server and the registry.

#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/http_client.h"
#include "measures.h"
#include "support/oci_image_builder.h"
#include "ws_follower.h"

namespace runvoy::bench {
namespace {

std::string Register(common::HttpClient& client, const Target& target, const std::string& image) {
  const std::string body = boost::json::serialize(boost::json::object{{"image", image}});
  auto response = client.Request("POST", target.url + "/api/v1/images/register",
                                 {{"X-API-Key", target.key}, {"Content-Type", "application/json"}},
                                 body, std::chrono::seconds(30));
  if (!response || response->status != 201)
    throw std::runtime_error("register failed: " + (response ? response->body : ""));
  return std::string(boost::json::parse(response->body).at("image_id").as_string());
}

struct Sample {
  double first_line = -1;
  double total = -1;
};

Sample RunOnce(common::HttpClient& client, const Target& target, const std::string& image) {
  const std::string body =
      boost::json::serialize(boost::json::object{{"command", "echo hi"}, {"image", image}});
  const auto start = Clock::now();
  auto response = client.Request("POST", target.url + "/api/v1/run",
                                 {{"X-API-Key", target.key}, {"Content-Type", "application/json"}},
                                 body, std::chrono::seconds(30));
  if (!response || response->status != 202)
    throw std::runtime_error("POST /run failed: " + (response ? response->body : ""));
  const auto run = boost::json::parse(response->body);
  Sample sample;
  FollowWebSocket(std::string(run.at("websocket_url").as_string()), [&](const std::string& frame) {
    const auto event = boost::json::parse(frame);
    if (sample.first_line < 0 && event.as_object().contains("stream") &&
        event.at("stream").as_string() == "stdout") {
      sample.first_line = Millis(Clock::now() - start);
    }
    return true;  // until the disconnect frame: the execution has ended
  });
  sample.total = Millis(Clock::now() - start);
  return sample;
}

int Main(int argc, char** argv) {
  Target target;
  int samples = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--url")
      target.url = argv[i + 1];
    if (flag == "--key")
      target.key = argv[i + 1];
    if (flag == "--samples")
      samples = std::stoi(argv[i + 1]);
  }
  const std::string registry = testing::OciRegistry();
  if (registry.empty())
    throw std::runtime_error("the loopback registry did not start");
  const auto image = testing::BuildImage({testing::MakeTar(testing::BusyboxLayerEntries(), true)},
                                         {{"PATH=/bin"}, "", ""});
  if (auto pushed = testing::PushImage(registry, "bench/busybox", "1", image); !pushed)
    throw std::runtime_error("push failed: " + pushed.error().message);
  common::HttpClient client;
  const std::string oci = Register(client, target, registry + "/bench/busybox:1");
  const std::string host = Register(client, target, "host");
  RunOnce(client, target, oci);  // fetches the image into the cache
  RunOnce(client, target, host);
  std::vector<double> oci_first, oci_total, host_first, host_total;
  for (int i = 0; i < samples; ++i) {
    const Sample a = RunOnce(client, target, oci);
    const Sample b = RunOnce(client, target, host);
    if (a.first_line >= 0)
      oci_first.push_back(a.first_line);
    if (b.first_line >= 0)
      host_first.push_back(b.first_line);
    oci_total.push_back(a.total);
    host_total.push_back(b.total);
  }
  if (oci_first.empty() || host_first.empty())
    throw std::runtime_error("no output seen");
  const double of = Percentile(oci_first, 0.5), hf = Percentile(host_first, 0.5);
  const double ot = Percentile(oci_total, 0.5), ht = Percentile(host_total, 0.5);
  std::cout << "| measure (median of " << samples << ") | cached busybox image | host | ratio |\n";
  std::cout << "|---|---|---|---|\n";
  std::cout << fmt::format(
      "| POST /run → first line (`echo hi`) | {:.1f} ms | {:.1f} ms | {:.2f} |\n", of, hf, of / hf);
  std::cout << fmt::format("| POST /run → execution ended | {:.1f} ms | {:.1f} ms | {:.2f} |\n", ot,
                           ht, ot / ht);
  return 0;
}

}  // namespace
}  // namespace runvoy::bench

int main(int argc, char** argv) {
  try {
    return runvoy::bench::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "local_image_vs_host: " << e.what() << "\n";
    return 1;
  }
}
