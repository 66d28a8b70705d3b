#pragma once

#include <memory>
#include <string>

namespace runvoy::testing {

// A synchronous WebSocket client for ws:// URLs on loopback.
class WebSocketClient {
 public:
  explicit WebSocketClient(const std::string& url);  // throws when the handshake fails
  ~WebSocketClient();
  // The next text frame; throws when the connection closed.
  std::string Read();
  // The HTTP status of a refused (or accepted: 101) handshake.
  static int HandshakeStatus(const std::string& url);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace runvoy::testing
