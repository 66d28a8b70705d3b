// Raw HTTP/1.1 bytes as a client sends them: parsed by Beast's parser with the transport's
// limits, turned into an HttpRequest the way the transport does (lowercased header names,
// repeated headers joined), then run through the real router and middleware (ApiFixture). Up to
// four pipelined requests per input, so that one input can create something and then use it.
// The live-log upgrade goes to the transport's follow-target parser instead.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "api_fixture.h"
#include "server/websocket_follower.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxBodyBytes = 64 << 10;  // the server's default is 1 MiB
constexpr std::uint32_t kMaxHeaderBytes = 16 << 10;
constexpr int kMaxRequests = 4;

runvoy::fuzz::ApiFixture& Fixture() {
  static runvoy::fuzz::ApiFixture fixture;
  return fixture;
}

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& fixture = Fixture();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int n = 0; n < kMaxRequests && !input.empty(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    beast::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_done() && used < input.size()) {
      const std::size_t consumed =
          parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
      if (ec == http::error::need_more) break;
      used += consumed;
      if (consumed == 0 && !ec) break;
    }
    if (!ec && !parser.is_done() && parser.is_header_done()) {
      parser.put_eof(ec);  // a body that ends with the connection
    }
    const bool oversized = ec == http::error::body_limit;
    if ((ec && !oversized) || !parser.is_header_done()) return 0;  // the transport answers 400

    const auto& message = parser.get();
    const std::string target(message.target());
    if (beast::websocket::is_upgrade(message) && PathOf(target) == runvoy::server::kLiveLogPath) {
      auto follow = runvoy::server::ParseFollowTarget(target);
      if (!follow) runvoy::server::RefusalResponse(follow.error());
      return 0;  // the follower takes over the connection
    }
    runvoy::server::HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = target;
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
      if (!inserted) {
        it->second += ", ";
        it->second += field.value();
      }
    }
    if (!oversized) request.body = message.body();
    fixture.Send(std::move(request), oversized);
    if (oversized || !message.keep_alive() || !parser.is_done()) return 0;
    input.remove_prefix(used);
  }
  return 0;
}
