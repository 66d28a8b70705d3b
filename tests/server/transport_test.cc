#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/ids.h"
#include "server/http_transport.h"
#include "server/live_log_source.h"
#include "server/log_hub.h"

namespace runvoy::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// The byte at `offset` of the streamed test body: varied, so a lost or repeated chunk shows.
char StreamByte(std::size_t offset) {
  return static_cast<char>('a' + (offset * 7 + offset / 4093) % 26);
}

// Answers by path: /echo (body, method and peer back), /stream?bytes=N (a chunked body built
// piece by piece), /slow (blocks until released). Everything else is 404.
class FakeHandler : public HttpHandler {
 public:
  HttpResponse Handle(HttpRequest request) override {
    {
      std::scoped_lock lock(mutex_);
      targets_.push_back(request.target);
    }
    HttpResponse response;
    const std::string path = request.target.substr(0, request.target.find('?'));
    if (path == "/echo") {
      response.SetHeader("X-Method", request.method);
      response.SetHeader("X-Peer", request.peer_ip);
      response.SetHeader("X-Test-Header", request.Header("x-test-header"));
      response.body = request.body;
      return response;
    }
    if (path == "/stream") {
      const std::size_t total = std::stoul(request.target.substr(request.target.find('=') + 1));
      auto offset = std::make_shared<std::size_t>(0);
      response.SetHeader("Content-Type", "application/octet-stream");
      response.producer = [offset, total](std::string& chunk) {
        const std::size_t size = std::min<std::size_t>(10007, total - *offset);
        chunk.resize(size);
        for (std::size_t i = 0; i < size; ++i) {
          chunk[i] = StreamByte(*offset + i);
        }
        *offset += size;
        return *offset < total;
      };
      return response;
    }
    if (path == "/empty") {
      response.status = 204;
      return response;
    }
    if (path == "/slow") {
      std::unique_lock lock(mutex_);
      slow_entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return slow_released_; });
      response.body = "finished";
      return response;
    }
    response.status = 404;
    response.body = "{\"error\":\"not found\",\"code\":\"NOT_FOUND\"}";
    return response;
  }

  HttpResponse HandleOversized(HttpRequest head) override {
    std::scoped_lock lock(mutex_);
    oversized_targets_.push_back(head.method + " " + head.target);
    HttpResponse response;
    response.status = 413;
    response.SetHeader("Content-Type", "application/json");
    response.body = "{\"error\":\"request body too large\",\"code\":\"PAYLOAD_TOO_LARGE\"}";
    return response;
  }

  bool WaitForSlowRequest() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [this] { return slow_entered_; });
  }
  void ReleaseSlowRequest() {
    std::scoped_lock lock(mutex_);
    slow_released_ = true;
    changed_.notify_all();
  }
  std::vector<std::string> targets() {
    std::scoped_lock lock(mutex_);
    return targets_;
  }
  std::vector<std::string> oversized_targets() {
    std::scoped_lock lock(mutex_);
    return oversized_targets_;
  }

 private:
  std::mutex mutex_;  // guards the members below
  std::condition_variable changed_;
  std::vector<std::string> targets_;
  std::vector<std::string> oversized_targets_;
  bool slow_entered_ = false;
  bool slow_released_ = false;
};

// The transport tests need no live logs: every upgrade here is refused or goes to the handler.
class NoLiveLogs : public LiveLogSource {
 public:
  core::Result<void> Authorize(const std::string&, const std::string&) override {
    return core::Fail(core::ErrorCode::kForbidden, "no live logs here");
  }
  core::Result<void> ReadAfter(const std::string&, int64_t,
                               const std::function<bool(const core::LogEvent&)>&) override {
    return {};
  }
  core::Result<std::optional<Finished>> FinishedState(const std::string&) override {
    return std::optional<Finished>();
  }
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.max_body_bytes = 64 << 10;
    options.worker_threads = 4;
    options.io_threads = 2;
    server_ = std::make_unique<HttpServer>(handler_, live_logs_, hub_, options);
    auto port = server_->Start();
    ASSERT_TRUE(port.has_value()) << port.error().message << ": " << port.error().details;
    port_ = *port;
  }

  void TearDown() override { server_->Stop(); }

  beast::tcp_stream Connect() {
    beast::tcp_stream stream(io_);
    stream.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)));
    stream.expires_after(30s);
    return stream;
  }

  static http::response<http::string_body> Exchange(beast::tcp_stream& stream,
                                                    http::request<http::string_body> request) {
    request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::read(stream, buffer, parser);
    return parser.release();
  }

  static http::response<http::string_body> SendRaw(beast::tcp_stream& stream,
                                                   const std::string& raw) {
    asio::write(stream, asio::buffer(raw));
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response;
  }

  // True when the server closed the connection (EOF) instead of sending more.
  static bool ClosedByServer(beast::tcp_stream& stream) {
    char byte;
    beast::error_code ec;
    stream.socket().read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  asio::io_context io_;
  FakeHandler handler_;
  NoLiveLogs live_logs_;
  LogHub hub_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(TransportTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  beast::tcp_stream stream = Connect();
  for (int i = 0; i < 5; ++i) {
    http::request<http::string_body> request{http::verb::post, "/echo?n=" + std::to_string(i), 11};
    request.set("X-Test-Header", "value " + std::to_string(i));
    request.body() = "body " + std::to_string(i);
    const auto response = Exchange(stream, std::move(request));
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), "body " + std::to_string(i));
    EXPECT_EQ(response[http::field::connection], "");
    EXPECT_TRUE(response.keep_alive());
    EXPECT_EQ(response["X-Method"], "POST");
    EXPECT_EQ(response["X-Peer"], "127.0.0.1");
    EXPECT_EQ(response["X-Test-Header"], "value " + std::to_string(i));
  }
  EXPECT_EQ(handler_.targets().size(), 5u);
}

TEST_F(TransportTest, NoContentResponseHasNoBodyAndKeepsTheConnection) {
  beast::tcp_stream stream = Connect();
  const auto empty =
      Exchange(stream, http::request<http::string_body>{http::verb::delete_, "/empty", 11});
  EXPECT_EQ(empty.result_int(), 204);
  EXPECT_EQ(empty[http::field::content_length], "");
  EXPECT_TRUE(empty.body().empty());
  const auto next =
      Exchange(stream, http::request<http::string_body>{http::verb::get, "/echo", 11});
  EXPECT_EQ(next.result_int(), 200);
}

TEST_F(TransportTest, ConnectionCloseRequestEndsTheConnectionAfterTheResponse) {
  beast::tcp_stream stream = Connect();
  http::request<http::string_body> request{http::verb::get, "/echo", 11};
  request.keep_alive(false);
  const auto response = Exchange(stream, std::move(request));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(ClosedByServer(stream));
}

TEST_F(TransportTest, OversizedContentLengthIsAnsweredFromTheHeadersAndClosed) {
  beast::tcp_stream stream = Connect();
  // Only the header is sent: the answer must come without waiting for the 10 MB body.
  const auto response = SendRaw(stream,
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 10000000\r\n\r\n");
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_NE(response.body().find("PAYLOAD_TOO_LARGE"), std::string::npos);
  EXPECT_TRUE(ClosedByServer(stream));
  EXPECT_EQ(handler_.oversized_targets(), std::vector<std::string>{"POST /echo"});
  EXPECT_TRUE(handler_.targets().empty());
}

TEST_F(TransportTest, ChunkedBodyOverTheLimitIsAnswered413) {
  beast::tcp_stream stream = Connect();
  std::string raw = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string piece(16 << 10, 'x');
  for (int i = 0; i < 6; ++i) {  // 96 KiB against a 64 KiB limit
    raw += "4000\r\n" + piece + "\r\n";
  }
  raw += "0\r\n\r\n";
  const auto response = SendRaw(stream, raw);
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_EQ(handler_.oversized_targets(), std::vector<std::string>{"POST /echo"});
}

TEST_F(TransportTest, ChunkedBodyUnderTheLimitIsRead) {
  beast::tcp_stream stream = Connect();
  const auto response =
      SendRaw(stream,
              "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello world");
}

TEST_F(TransportTest, ProducerResponseIsStreamedChunkedAndArrivesIntact) {
  constexpr std::size_t kBytes = 6 * (1 << 20) + 12345;
  beast::tcp_stream stream = Connect();
  http::request<http::string_body> request{http::verb::get,
                                           "/stream?bytes=" + std::to_string(kBytes), 11};
  const auto response = Exchange(stream, std::move(request));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_TRUE(response.chunked());
  EXPECT_EQ(response[http::field::content_type], "application/octet-stream");
  ASSERT_EQ(response.body().size(), kBytes);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < kBytes; ++i) {
    mismatches += response.body()[i] != StreamByte(i);
  }
  EXPECT_EQ(mismatches, 0u);
  // The connection stays usable after a streamed response.
  const auto next =
      Exchange(stream, http::request<http::string_body>{http::verb::get, "/echo", 11});
  EXPECT_EQ(next.result_int(), 200);
}

TEST_F(TransportTest, MalformedRequestLineIsAnswered400AndClosed) {
  beast::tcp_stream stream = Connect();
  const auto response = SendRaw(stream, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  const auto body = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("code").as_string(), "INVALID_REQUEST");
  EXPECT_TRUE(ClosedByServer(stream));
  EXPECT_TRUE(handler_.targets().empty());
}

TEST_F(TransportTest, MalformedHeaderIsAnswered400) {
  beast::tcp_stream stream = Connect();
  const auto response = SendRaw(stream, "GET /echo HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_TRUE(ClosedByServer(stream));
}

TEST_F(TransportTest, OversizedHeaderIsAnswered431AndClosed) {
  beast::tcp_stream stream = Connect();
  const std::string huge(32 << 10, 'v');
  const auto response =
      SendRaw(stream, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Huge: " + huge + "\r\n\r\n");
  EXPECT_EQ(response.result_int(), 431);
  EXPECT_TRUE(ClosedByServer(stream));
  EXPECT_TRUE(handler_.targets().empty());
}

TEST_F(TransportTest, ExpectContinueGetsAnInterimResponseBeforeTheBody) {
  beast::tcp_stream stream = Connect();
  asio::write(stream,
              asio::buffer(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                       "Expect: 100-continue\r\n\r\n")));
  beast::flat_buffer buffer;
  http::response<http::empty_body> interim;
  http::read(stream, buffer, interim);
  EXPECT_EQ(interim.result_int(), 100);
  asio::write(stream, asio::buffer(std::string("hello")));
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello");
}

TEST_F(TransportTest, UpgradeToAnotherPathIsAnOrdinaryRequest) {
  websocket::stream<tcp::socket> ws(io_);
  ws.next_layer().connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)));
  websocket::response_type response;
  beast::error_code ec;
  ws.handshake(response, "127.0.0.1", "/api/v1/elsewhere", ec);
  EXPECT_EQ(ec, websocket::error::upgrade_declined);
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_EQ(handler_.targets(), std::vector<std::string>{"/api/v1/elsewhere"});
}

TEST_F(TransportTest, StopLetsAnInFlightRequestFinish) {
  beast::tcp_stream stream = Connect();
  http::request<http::string_body> request{http::verb::get, "/slow", 11};
  request.set(http::field::host, "127.0.0.1");
  http::write(stream, request);
  ASSERT_TRUE(handler_.WaitForSlowRequest());

  std::atomic<bool> stopped{false};
  std::jthread stopper([&] {
    server_->Stop();
    stopped = true;
  });
  // Stop has begun once the listening socket refuses new connections.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool refused = false;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    tcp::socket probe(io_);
    beast::error_code ec;
    probe.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)), ec);
    refused = ec == asio::error::connection_refused;
    std::this_thread::yield();
  }
  ASSERT_TRUE(refused);
  EXPECT_FALSE(stopped);
  handler_.ReleaseSlowRequest();

  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "finished");
  EXPECT_FALSE(response.keep_alive());
  stopper.join();
  EXPECT_TRUE(stopped);
}

TEST_F(TransportTest, StopClosesIdleKeepAliveConnections) {
  beast::tcp_stream stream = Connect();
  const auto response =
      Exchange(stream, http::request<http::string_body>{http::verb::get, "/echo", 11});
  EXPECT_TRUE(response.keep_alive());
  const auto started = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(ClosedByServer(stream));
}

TEST(TransportStart, PortInUseIsAnError) {
  FakeHandler handler;
  NoLiveLogs live_logs;
  LogHub hub;
  HttpServer first(handler, live_logs, hub, HttpServerOptions{});
  auto port = first.Start();
  ASSERT_TRUE(port.has_value());
  HttpServerOptions options;
  options.port = *port;
  HttpServer second(handler, live_logs, hub, options);
  auto again = second.Start();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, core::ErrorCode::kServiceUnavailable);
}

// ---- TLS ----

// A self-signed P-256 certificate for 127.0.0.1 in a fresh directory, removed at the end.
class SelfSignedCertificate {
 public:
  SelfSignedCertificate() {
    char pattern[] = "/tmp/runvoy-tls-XXXXXX";
    dir_ = mkdtemp(pattern);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x509 = X509_new();
    X509_set_version(x509, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
    X509_gmtime_adj(X509_getm_notBefore(x509), 0);
    X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
    X509_set_pubkey(x509, key);
    X509_NAME* name = X509_get_subject_name(x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(x509, name);
    X509_sign(x509, key, EVP_sha256());
    FILE* cert_file = std::fopen(cert_path().c_str(), "w");
    PEM_write_X509(cert_file, x509);
    std::fclose(cert_file);
    FILE* key_file = std::fopen(key_path().c_str(), "w");
    PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(key_file);
    X509_free(x509);
    EVP_PKEY_free(key);
  }
  ~SelfSignedCertificate() { std::filesystem::remove_all(dir_); }
  std::string cert_path() const { return dir_ + "/cert.pem"; }
  std::string key_path() const { return dir_ + "/key.pem"; }

 private:
  std::string dir_;
};

// One finished execution with three stored events, followed with token "t".
class OneExecutionLogs : public LiveLogSource {
 public:
  core::Result<void> Authorize(const std::string& execution_id, const std::string& token) override {
    if (token != "t") {
      return core::Fail(core::ErrorCode::kInvalidApiKey, "invalid token");
    }
    if (execution_id != "exec") {
      return core::Fail(core::ErrorCode::kForbidden, "token of another execution");
    }
    return {};
  }
  core::Result<void> ReadAfter(const std::string&, int64_t after,
                               const std::function<bool(const core::LogEvent&)>& visit) override {
    for (int64_t sequence = after + 1; sequence <= 3; ++sequence) {
      core::LogEvent event;
      event.sequence = sequence;
      event.message = "line " + std::to_string(sequence);
      if (!visit(event)) {
        break;
      }
    }
    return {};
  }
  core::Result<std::optional<Finished>> FinishedState(const std::string&) override {
    return std::optional<Finished>(Finished{core::ExecutionStatus::kSucceeded, 0});
  }
};

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.tls_cert_file = certificate_.cert_path();
    options.tls_key_file = certificate_.key_path();
    server_ = std::make_unique<HttpServer>(handler_, live_logs_, hub_, options);
    auto port = server_->Start();
    ASSERT_TRUE(port.has_value()) << port.error().message << ": " << port.error().details;
    port_ = *port;
    client_tls_.set_verify_mode(asio::ssl::verify_none);
  }
  void TearDown() override { server_->Stop(); }

  tcp::endpoint Endpoint() const {
    return tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_));
  }

  SelfSignedCertificate certificate_;
  asio::io_context io_;
  asio::ssl::context client_tls_{asio::ssl::context::tls_client};
  FakeHandler handler_;
  OneExecutionLogs live_logs_;
  LogHub hub_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(TlsTransportTest, ServesHttpsWithKeepAlive) {
  beast::ssl_stream<beast::tcp_stream> stream(io_, client_tls_);
  beast::get_lowest_layer(stream).connect(Endpoint());
  beast::get_lowest_layer(stream).expires_after(30s);
  stream.handshake(asio::ssl::stream_base::client);
  EXPECT_GE(SSL_version(stream.native_handle()), TLS1_2_VERSION);
  for (int i = 0; i < 2; ++i) {
    http::request<http::string_body> request{http::verb::post, "/echo", 11};
    request.set(http::field::host, "127.0.0.1");
    request.body() = "secure " + std::to_string(i);
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), "secure " + std::to_string(i));
  }
}

TEST_F(TlsTransportTest, RefusesTlsOlderThan12) {
  asio::ssl::context old_tls(asio::ssl::context::tls_client);
  SSL_CTX_set_security_level(old_tls.native_handle(), 0);
  SSL_CTX_set_min_proto_version(old_tls.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(old_tls.native_handle(), TLS1_1_VERSION);
  old_tls.set_verify_mode(asio::ssl::verify_none);
  beast::ssl_stream<beast::tcp_stream> stream(io_, old_tls);
  beast::get_lowest_layer(stream).connect(Endpoint());
  beast::get_lowest_layer(stream).expires_after(30s);
  beast::error_code ec;
  stream.handshake(asio::ssl::stream_base::client, ec);
  EXPECT_TRUE(ec);
}

TEST_F(TlsTransportTest, FollowsLiveLogsOverWss) {
  websocket::stream<beast::ssl_stream<tcp::socket>> ws(io_, client_tls_);
  beast::get_lowest_layer(ws).connect(Endpoint());
  ws.next_layer().handshake(asio::ssl::stream_base::client);
  ws.handshake("127.0.0.1", "/api/v1/ws?execution_id=exec&token=t");
  std::vector<std::string> frames;
  beast::error_code ec;
  for (;;) {
    beast::flat_buffer buffer;
    ws.read(buffer, ec);
    if (ec) {
      break;
    }
    frames.push_back(beast::buffers_to_string(buffer.data()));
  }
  EXPECT_EQ(ws.reason().code, 1000);
  ASSERT_EQ(frames.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    const auto event = boost::json::parse(frames[i]).as_object();
    EXPECT_EQ(event.at("event_id").as_string(), core::FormatEventId(i + 1));
    EXPECT_EQ(event.at("message").as_string(), "line " + std::to_string(i + 1));
  }
  EXPECT_EQ(boost::json::parse(frames[3]).as_object().at("type").as_string(), "disconnect");
}

TEST(TransportStart, MissingCertificateFileIsAnError) {
  FakeHandler handler;
  NoLiveLogs live_logs;
  LogHub hub;
  HttpServerOptions options;
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  HttpServer server(handler, live_logs, hub, options);
  auto started = server.Start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, core::ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace runvoy::server
