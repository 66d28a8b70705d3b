#include "server/http_transport.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/ssl.h>

#include "server/websocket_follower.h"
#include "server/worker_pool.h"

namespace runvoy::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// A streamed body is sent in chunks of about this size (several producer pieces per chunk).
constexpr std::size_t kChunkTarget = 64 << 10;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// What Stop() may do to one connection. Touched only on the connection's strand.
struct ConnectionControl {
  explicit ConnectionControl(asio::any_io_executor executor) : strand(std::move(executor)) {}
  asio::any_io_executor strand;
  bool busy = false;            // a request is being handled (or the connection is a follower)
  std::function<void()> close;  // closes the socket; empty when there is nothing to close
};

HttpResponse TransportError(int status, core::ErrorCode code, const std::string& message,
                            const std::string& details = {}) {
  HttpResponse response = RefusalResponse(core::Error{code, message, details});
  response.status = status;
  return response;
}

std::string PathOf(const std::string& target) {
  return target.substr(0, target.find('?'));
}

std::string PeerAddress(const tcp::socket& socket) {
  beast::error_code ec;
  const tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) {
    return {};
  }
  asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// After a 413 the client may still be sending the body: read and drop it (bounded in bytes and
// time) so it gets to read the answer instead of a connection reset.
template <class Stream>
asio::awaitable<void> DiscardUnreadInput(Stream& stream) {
  constexpr std::size_t kMaxDiscardBytes = 64 << 20;
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(std::chrono::seconds(5));
  if constexpr (!kIsTls<Stream>) {
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  std::vector<char> sink(64 << 10);
  std::size_t discarded = 0;
  while (discarded < kMaxDiscardBytes) {
    auto [ec, bytes] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
    if (ec) break;
    discarded += bytes;
  }
}

}  // namespace

struct HttpServer::State {
  State(HttpHandler& handler_in, LiveLogSource& live_logs_in, LogHub& hub_in,
        HttpServerOptions options_in)
      : handler(handler_in), live_logs(live_logs_in), hub(hub_in), options(std::move(options_in)) {}

  core::Result<void> SetUpTls();
  void StartSession(tcp::socket socket);
  asio::awaitable<void> Listen();
  template <class Stream>
  asio::awaitable<void> Serve(Stream stream, std::string peer_ip,
                              std::shared_ptr<ConnectionControl> control);
  template <class Stream>
  asio::awaitable<void> ServeRequests(Stream& stream, const std::string& peer_ip,
                                      const std::shared_ptr<ConnectionControl>& control);
  template <class Stream>
  asio::awaitable<void> ServeUpgrade(Stream& stream, http::request<http::empty_body> request,
                                     std::shared_ptr<ConnectionControl> control);
  template <class Stream>
  asio::awaitable<bool> WriteResponse(Stream& stream, HttpResponse response, bool keep_alive,
                                      unsigned version);
  template <class Stream>
  asio::awaitable<void> Shutdown(Stream& stream);

  HttpHandler& handler;
  LiveLogSource& live_logs;
  LogHub& hub;
  const HttpServerOptions options;
  FollowerRegistry followers;
  // Declared before the io_context: TLS streams in abandoned sessions die with the io_context.
  std::optional<asio::ssl::context> tls;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::unique_ptr<asio::thread_pool> pool;
  std::vector<std::jthread> io_threads;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;

  std::mutex mutex;  // guards connections and next_connection_id
  std::condition_variable connections_changed;
  std::map<uint64_t, std::shared_ptr<ConnectionControl>> connections;
  uint64_t next_connection_id = 0;
};

core::Result<void> HttpServer::State::SetUpTls() {
  tls.emplace(asio::ssl::context::tls_server);
  beast::error_code ec;
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                   ec);
  if (ec || SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(tls->native_handle(),
                              "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!MD5:"
                              "!DSS") != 1) {
    return core::Fail(core::ErrorCode::kInternal, "cannot configure TLS");
  }
  tls->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "cannot read the TLS certificate",
                      options.tls_cert_file + ": " + ec.message());
  }
  tls->use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "cannot read the TLS private key",
                      options.tls_key_file + ": " + ec.message());
  }
  return {};
}

asio::awaitable<void> HttpServer::State::Listen() {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::make_strand(io), kNoThrow);
    if (stopping || ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      // Out of descriptors and the like: back off a little instead of spinning.
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await timer.async_wait(kNoThrow);
      continue;
    }
    StartSession(std::move(socket));
  }
}

void HttpServer::State::StartSession(tcp::socket socket) {
  std::string peer_ip = PeerAddress(socket);
  beast::tcp_stream stream(std::move(socket));
  const asio::any_io_executor executor = stream.get_executor();
  auto control = std::make_shared<ConnectionControl>(executor);
  uint64_t id = 0;
  {
    std::scoped_lock lock(mutex);
    id = next_connection_id++;
    connections.emplace(id, control);
  }
  auto done = [this, id](const std::exception_ptr&) {
    std::scoped_lock lock(mutex);
    connections.erase(id);
    connections_changed.notify_all();
  };
  if (tls) {
    asio::co_spawn(executor, Serve(TlsStream(std::move(stream), *tls), std::move(peer_ip), control),
                   std::move(done));
  } else {
    asio::co_spawn(executor, Serve(std::move(stream), std::move(peer_ip), control),
                   std::move(done));
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::State::Serve(Stream stream, std::string peer_ip,
                                               std::shared_ptr<ConnectionControl> control) {
  auto& lowest = beast::get_lowest_layer(stream);
  control->close = [&lowest] {
    beast::error_code ignored;
    lowest.socket().close(ignored);
  };
  try {
    co_await ServeRequests(stream, peer_ip, control);
  } catch (const std::exception&) {
    // A bug or out of memory in one connection: drop that connection only.
  }
  control->close = nullptr;
}

template <class Stream>
asio::awaitable<void> HttpServer::State::ServeRequests(
    Stream& stream, const std::string& peer_ip, const std::shared_ptr<ConnectionControl>& control) {
  auto& lowest = beast::get_lowest_layer(stream);
  if constexpr (kIsTls<Stream>) {
    lowest.expires_after(options.idle_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kNoThrow);
    if (ec) {
      co_return;
    }
  }
  beast::flat_buffer buffer;
  while (!stopping) {
    http::request_parser<http::empty_body> head;
    head.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    head.body_limit(boost::none);  // checked below, against the Content-Length
    lowest.expires_after(options.idle_timeout);
    {
      auto [ec, bytes] = co_await http::async_read_header(stream, buffer, head, kNoThrow);
      if (ec) {
        if (IsHttpParseError(ec)) {
          control->busy = true;
          const bool too_large = ec == http::error::header_limit;
          HttpResponse refusal = TransportError(
              too_large ? 431 : 400, core::ErrorCode::kInvalidRequest,
              too_large ? "request header too large" : "malformed HTTP request", ec.message());
          co_await WriteResponse(stream, std::move(refusal), false, 11);
        }
        break;
      }
    }
    control->busy = true;
    const std::string target(head.get().target());
    if (websocket::is_upgrade(head.get()) && PathOf(target) == kLiveLogPath) {
      http::request<http::empty_body> upgrade = head.release();
      co_await ServeUpgrade(stream, std::move(upgrade), control);
      co_return;
    }
    HttpRequest request;
    request.method = std::string(head.get().method_string());
    request.target = target;
    for (const auto& field : head.get()) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
      if (!inserted) {
        it->second += ", ";
        it->second += field.value();
      }
    }
    request.peer_ip = peer_ip;
    request.tls = kIsTls<Stream>;
    const unsigned version = head.get().version();
    const bool client_keep_alive = head.get().keep_alive();

    bool oversized = false;
    std::size_t body_limit = options.max_body_bytes;
    if (const auto own = options.body_limits.find(PathOf(target));
        own != options.body_limits.end()) {
      body_limit = own->second;
    }
    if (const auto length = head.content_length(); length && *length > body_limit) {
      oversized = true;
    } else {
      if (beast::iequals(head.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> proceed{http::status::continue_, version};
        auto [ec, bytes] = co_await http::async_write(stream, proceed, kNoThrow);
        if (ec) {
          break;
        }
      }
      http::request_parser<http::string_body> full(std::move(head));
      full.body_limit(body_limit);
      auto [ec, bytes] = co_await http::async_read(stream, buffer, full, kNoThrow);
      if (ec == http::error::body_limit) {
        oversized = true;  // a chunked body that grew past the limit
      } else if (ec) {
        if (IsHttpParseError(ec)) {
          HttpResponse refusal = TransportError(400, core::ErrorCode::kInvalidRequest,
                                                "malformed HTTP request", ec.message());
          co_await WriteResponse(stream, std::move(refusal), false, version);
        }
        break;
      } else {
        request.body = std::move(full.get().body());
      }
    }

    // GCC 12 may relocate a temporary that lives across co_await bitwise, which breaks
    // self-referencing members such as short strings: every such object here is a named local.
    auto handle = [this, request = std::move(request), oversized]() mutable {
      try {
        if (oversized) {
          request.body.clear();
          return handler.HandleOversized(std::move(request));
        }
        return handler.Handle(std::move(request));
      } catch (const std::exception&) {
        return TransportError(500, core::ErrorCode::kInternal, "internal error");
      }
    };
    HttpResponse response = co_await RunOnPool(*pool, std::move(handle));
    // An unread body cannot be skipped safely: the connection ends after a 413.
    const bool keep_alive = client_keep_alive && !oversized && !stopping;
    const bool written = co_await WriteResponse(stream, std::move(response), keep_alive, version);
    control->busy = false;
    if (written && oversized) {
      co_await DiscardUnreadInput(stream);
    }
    if (!written || !keep_alive) {
      break;
    }
  }
  co_await Shutdown(stream);
}

template <class Stream>
asio::awaitable<void> HttpServer::State::ServeUpgrade(Stream& stream,
                                                      http::request<http::empty_body> request,
                                                      std::shared_ptr<ConnectionControl> control) {
  auto follow = ParseFollowTarget(std::string(request.target()));
  core::Result<void> allowed;
  if (!follow) {
    allowed = tl::unexpected(follow.error());
  } else if (stopping) {
    allowed = core::Fail(core::ErrorCode::kServiceUnavailable, "server is shutting down");
  } else {
    auto authorize = [this, execution_id = follow->execution_id, token = follow->token]() {
      try {
        return live_logs.Authorize(execution_id, token);
      } catch (const std::exception&) {
        return core::Result<void>(core::Fail(core::ErrorCode::kInternal, "authorization failed"));
      }
    };
    allowed = co_await RunOnPool(*pool, std::move(authorize));
  }
  if (!allowed) {
    HttpResponse refusal = RefusalResponse(allowed.error());
    co_await WriteResponse(stream, std::move(refusal), false, request.version());
    co_await Shutdown(stream);
    co_return;
  }
  // From here the WebSocket stream owns the connection; shutdown closes it with 1001.
  control->close = nullptr;
  beast::get_lowest_layer(stream).expires_never();
  FollowerContext context{live_logs, hub, *pool, followers, options.live_logs};
  FollowRequest follow_request = std::move(*follow);
  co_await ServeFollower(std::move(stream), std::move(request), std::move(follow_request),
                         context);
}

template <class Stream>
asio::awaitable<bool> HttpServer::State::WriteResponse(Stream& stream, HttpResponse response,
                                                       bool keep_alive, unsigned version) {
  auto& lowest = beast::get_lowest_layer(stream);
  if (!response.producer) {
    http::response<http::string_body> message;
    message.version(version);
    message.result(static_cast<unsigned>(response.status));
    for (const auto& [name, value] : response.headers) {
      message.set(name, value);
    }
    message.keep_alive(keep_alive);
    if (response.status < 200 || response.status == 204 || response.status == 304) {
      message.erase(http::field::content_length);  // these never carry a body
    } else {
      message.body() = std::move(response.body);
      message.prepare_payload();
    }
    lowest.expires_after(options.idle_timeout);
    auto [ec, bytes] = co_await http::async_write(stream, message, kNoThrow);
    co_return !ec;
  }

  // HTTP/1.0 has no chunked encoding: the body then ends with the connection.
  const bool chunked = version >= 11;
  http::response<http::empty_body> message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  for (const auto& [name, value] : response.headers) {
    message.set(name, value);
  }
  message.keep_alive(keep_alive && chunked);
  message.chunked(chunked);
  http::response_serializer<http::empty_body> serializer(message);
  lowest.expires_after(options.idle_timeout);
  if (auto [ec, bytes] = co_await http::async_write_header(stream, serializer, kNoThrow); ec) {
    co_return false;
  }
  auto producer = std::make_shared<BodyProducer>(std::move(response.producer));
  for (;;) {
    auto produce = [producer]() -> std::optional<std::pair<std::string, bool>> {
      try {
        std::string out;
        bool more = true;
        while (more && out.size() < kChunkTarget) {
          std::string chunk;
          more = (*producer)(chunk);
          if (out.empty()) {
            out = std::move(chunk);
          } else {
            out += chunk;
          }
        }
        return std::make_pair(std::move(out), more);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    };
    auto piece = co_await RunOnPool(*pool, produce);
    if (!piece) {
      co_return false;  // the body cannot be completed; the client sees it cut short
    }
    if (!piece->first.empty()) {
      lowest.expires_after(options.idle_timeout);
      beast::error_code ec;
      if (chunked) {
        const auto chunk = http::make_chunk(asio::buffer(piece->first));
        std::tie(ec, std::ignore) = co_await asio::async_write(stream, chunk, kNoThrow);
      } else {
        std::tie(ec, std::ignore) =
            co_await asio::async_write(stream, asio::buffer(piece->first), kNoThrow);
      }
      if (ec) {
        co_return false;
      }
    }
    if (!piece->second) {
      break;
    }
  }
  if (!chunked) {
    co_return false;  // ends the connection, which ends the body
  }
  lowest.expires_after(options.idle_timeout);
  const auto last_chunk = http::make_chunk_last();
  auto [ec, bytes] = co_await asio::async_write(stream, last_chunk, kNoThrow);
  co_return !ec;
}

template <class Stream>
asio::awaitable<void> HttpServer::State::Shutdown(Stream& stream) {
  auto& lowest = beast::get_lowest_layer(stream);
  beast::error_code ignored;
  if constexpr (kIsTls<Stream>) {
    lowest.expires_after(std::chrono::seconds(2));
    auto [ec] = co_await stream.async_shutdown(kNoThrow);
    (void)ec;
  } else {
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  lowest.socket().close(ignored);
}

HttpServer::HttpServer(HttpHandler& handler, LiveLogSource& live_logs, LogHub& hub,
                       HttpServerOptions options)
    : state_(std::make_unique<State>(handler, live_logs, hub, std::move(options))) {}

HttpServer::~HttpServer() {
  Stop();
}

core::Result<int> HttpServer::Start() {
  State& s = *state_;
  if (s.started) {
    return core::Fail(core::ErrorCode::kInternal, "server already started");
  }
  if (!s.options.tls_cert_file.empty() || !s.options.tls_key_file.empty()) {
    if (s.options.tls_cert_file.empty() || s.options.tls_key_file.empty()) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "TLS needs both a certificate file and a key file");
    }
    if (auto tls = s.SetUpTls(); !tls) {
      return tl::unexpected(tls.error());
    }
  }
  if (s.options.port < 0 || s.options.port > 65535) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid port",
                      std::to_string(s.options.port));
  }
  const std::string where = s.options.host + ":" + std::to_string(s.options.port);
  beast::error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(s.options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, static_cast<unsigned short>(s.options.port));
  } else {
    tcp::resolver resolver(s.io);
    const auto results = resolver.resolve(s.options.host, std::to_string(s.options.port), ec);
    if (ec || results.empty()) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "cannot resolve the listen host",
                        s.options.host);
    }
    endpoint = results.begin()->endpoint();
  }
  s.acceptor.emplace(asio::make_strand(s.io));
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) {
    s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    s.acceptor->bind(endpoint, ec);
  }
  if (!ec) {
    s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    s.acceptor.reset();
    return core::Fail(core::ErrorCode::kServiceUnavailable, "cannot listen on " + where,
                      ec.message());
  }
  const int port = s.acceptor->local_endpoint().port();
  s.pool = std::make_unique<asio::thread_pool>(std::clamp(s.options.worker_threads, 1, 256));
  s.work.emplace(s.io.get_executor());
  asio::co_spawn(s.acceptor->get_executor(), s.Listen(), [](const std::exception_ptr&) {});
  const int io_threads = std::clamp(s.options.io_threads, 1, 64);
  for (int i = 0; i < io_threads; ++i) {
    s.io_threads.emplace_back([&s] {
      for (;;) {
        try {
          s.io.run();
          return;
        } catch (const std::exception&) {
          // A handler threw: keep serving the other connections.
        }
      }
    });
  }
  s.started = true;
  return port;
}

void HttpServer::Stop() {
  State& s = *state_;
  if (!s.started || s.stopped) {
    return;
  }
  s.stopped = true;
  s.stopping = true;
  asio::post(s.acceptor->get_executor(), [&s] {
    beast::error_code ignored;
    s.acceptor->close(ignored);
  });
  s.followers.CloseAll();
  const auto close_connections = [&s](bool only_idle) {
    std::scoped_lock lock(s.mutex);
    for (const auto& [id, control] : s.connections) {
      asio::post(control->strand, [control = control, only_idle] {
        if (control->close && !(only_idle && control->busy)) {
          control->close();
        }
      });
    }
  };
  close_connections(true);
  {
    std::unique_lock lock(s.mutex);
    if (!s.connections_changed.wait_for(lock, s.options.shutdown_grace,
                                        [&s] { return s.connections.empty(); })) {
      lock.unlock();
      close_connections(false);
      lock.lock();
      s.connections_changed.wait_for(lock, std::chrono::seconds(1),
                                     [&s] { return s.connections.empty(); });
    }
  }
  s.work.reset();
  s.io.stop();
  for (std::jthread& thread : s.io_threads) {
    thread.join();
  }
  s.pool->join();
  // Followers abandoned past the grace period must not be woken through a dead io_context.
  for (const auto& subscription : s.followers.TakeAll()) {
    s.hub.Unsubscribe(subscription);
  }
}

}  // namespace runvoy::server
