#include "support/websocket_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>

namespace runvoy::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct Address {
  std::string host;
  std::string port;
  std::string target;
};

Address Parse(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("bad url " + url);
  Address address{std::string(parsed->host()), std::string(parsed->port()),
                  std::string(parsed->encoded_target())};
  return address;
}

}  // namespace

struct WebSocketClient::State {
  asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
};

WebSocketClient::WebSocketClient(const std::string& url) : state_(std::make_unique<State>()) {
  const Address address = Parse(url);
  tcp::resolver resolver(state_->io);
  asio::connect(state_->ws.next_layer(), resolver.resolve(address.host, address.port));
  state_->ws.handshake(address.host + ":" + address.port, address.target);
}

WebSocketClient::~WebSocketClient() {
  beast::error_code ignored;
  state_->ws.next_layer().close(ignored);
}

std::string WebSocketClient::Read() {
  beast::flat_buffer buffer;
  state_->ws.read(buffer);
  return beast::buffers_to_string(buffer.data());
}

int WebSocketClient::HandshakeStatus(const std::string& url) {
  const Address address = Parse(url);
  asio::io_context io;
  websocket::stream<tcp::socket> ws(io);
  tcp::resolver resolver(io);
  asio::connect(ws.next_layer(), resolver.resolve(address.host, address.port));
  websocket::response_type response;
  beast::error_code ec;
  ws.handshake(response, address.host + ":" + address.port, address.target, ec);
  return response.result_int();
}

}  // namespace runvoy::testing
