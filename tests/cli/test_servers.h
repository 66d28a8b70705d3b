#pragma once

// Small real servers for the CLI tests, on 127.0.0.1 with a free port, served by a thread
// that the destructor stops and joins.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace runvoy::cli::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// Accepts connections one after another and hands each to the next handler in the list
// (the last one repeats).
class TestServer {
 public:
  using Handler = std::function<void(tcp::socket&)>;

  explicit TestServer(std::vector<Handler> handlers)
      : handlers_(std::move(handlers)),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }

  ~TestServer() {
    stopping_ = true;
    // Wake the blocking accept with a connection of our own.
    try {
      asio::io_context ioc;
      tcp::socket socket(ioc);
      socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    } catch (const std::exception&) {
    }
    thread_.join();
  }

  unsigned short port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void Serve() {
    size_t index = 0;
    while (!stopping_) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_)
        return;
      ++connections_;
      try {
        handlers_[std::min(index, handlers_.size() - 1)](socket);
      } catch (const std::exception&) {
        // The client went away: the next connection gets the next handler.
      }
      ++index;
    }
  }

  std::vector<Handler> handlers_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// Thread-safe list of strings seen by a server.
class Seen {
 public:
  void Add(std::string text) {
    std::scoped_lock lock(mutex_);
    items_.push_back(std::move(text));
  }
  std::vector<std::string> Items() const {
    std::scoped_lock lock(mutex_);
    return items_;
  }

 private:
  mutable std::mutex mutex_;  // guards items_
  std::vector<std::string> items_;
};

// The event JSON of SPEC.md §2.3.
inline std::string EventJson(int seq, const std::string& message,
                             const std::string& stream = "stdout", bool partial = false) {
  char id[32];
  std::snprintf(id, sizeof(id), "%012d", seq);
  std::string json = std::string(R"({"event_id":")") + id + R"(","timestamp":)" +
                     std::to_string(1700000000000LL + seq) + R"(,"message":")" + message +
                     R"(","stream":")" + stream + "\"";
  if (partial)
    json += R"(,"partial":true)";
  return json + "}";
}

inline std::string EventId(int seq) {
  char id[32];
  std::snprintf(id, sizeof(id), "%012d", seq);
  return id;
}

}  // namespace runvoy::cli::testing
