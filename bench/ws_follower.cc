#include "ws_follower.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>

namespace runvoy::bench {

void FollowWebSocket(const std::string& url,
                     const std::function<bool(const std::string&)>& on_frame) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("bad websocket url");
  asio::io_context io;
  beast::websocket::stream<asio::ip::tcp::socket> ws(io);
  asio::ip::tcp::resolver resolver(io);
  asio::connect(ws.next_layer(), resolver.resolve(std::string(parsed->host()),
                                                  std::string(parsed->port())));
  ws.handshake(std::string(parsed->host()) + ":" + std::string(parsed->port()),
               std::string(parsed->encoded_target()));
  beast::flat_buffer buffer;
  while (true) {
    buffer.clear();
    beast::error_code ec;
    ws.read(buffer, ec);
    if (ec) return;
    if (!on_frame(beast::buffers_to_string(buffer.data()))) return;
  }
}

}  // namespace runvoy::bench
