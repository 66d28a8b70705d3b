#include "common/http_client.h"

#include <sstream>

#include <boost/json/object.hpp>
#include <gtest/gtest.h>

#include "cli/api_client.h"
#include "test_servers.h"

namespace runvoy::cli::testing {
namespace {

// Answers every request on the connection with `status` and a body echoing what it got.
TestServer::Handler EchoServer(Seen& seen, int status) {
  return [&seen, status](tcp::socket& socket) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> request;
      boost::system::error_code ec;
      http::read(socket, buffer, request, ec);
      if (ec)
        return;
      seen.Add(std::string(request.method_string()) + " " + std::string(request.target()) +
               " key=" + std::string(request["X-API-Key"]) + " body=" + request.body());
      http::response<http::string_body> response{static_cast<http::status>(status), 11};
      response.set("X-Request-ID", "abc123");
      response.set(http::field::content_type, "application/json");
      response.body() = R"({"got":")" + std::string(request.target()) + "\"}";
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      http::write(socket, response);
      if (!request.keep_alive())
        return;
    }
  };
}

TEST(HttpClient, SendsMethodHeadersAndBodyAndReadsTheResponse) {
  Seen seen;
  TestServer server({EchoServer(seen, 201)});
  common::HttpClient client;
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto response = client.Request("POST", base + "/api/v1/users/create",
                                 {{"X-API-Key", "k1"}, {"Content-Type", "application/json"}},
                                 R"({"a":1})", std::chrono::seconds(5));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->headers["x-request-id"], "abc123");
  EXPECT_EQ(response->body, R"({"got":"/api/v1/users/create"})");
  ASSERT_EQ(seen.Items().size(), 1u);
  EXPECT_EQ(seen.Items()[0], R"(POST /api/v1/users/create key=k1 body={"a":1})");
}

TEST(HttpClient, ReusesTheConnectionForConsecutiveRequests) {
  Seen seen;
  TestServer server({EchoServer(seen, 200)});
  common::HttpClient client;
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  for (int i = 0; i < 3; ++i) {
    auto response =
        client.Request("GET", base + "/r" + std::to_string(i), {}, "", std::chrono::seconds(5));
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(seen.Items().size(), 3u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClient, StreamingHandsTheBodyToTheCallback) {
  Seen seen;
  TestServer server({EchoServer(seen, 404)});
  common::HttpClient client;
  std::string collected;
  auto response =
      client.RequestStreaming("DELETE", "http://127.0.0.1:" + std::to_string(server.port()) + "/x",
                              {}, "", std::chrono::seconds(5), [&](std::string_view chunk) {
                                collected += chunk;
                                return true;
                              });
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(response->body, "");
  EXPECT_EQ(collected, R"({"got":"/x"})");
}

TEST(HttpClient, ConnectionRefusedIsServiceUnavailable) {
  common::HttpClient client;
  auto response = client.Request("GET", "http://127.0.0.1:1/x", {}, "", std::chrono::seconds(5));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, core::ErrorCode::kServiceUnavailable);
  EXPECT_EQ(response.error().message.rfind("cannot reach http://127.0.0.1:1/x: ", 0), 0u);
  EXPECT_FALSE(response.error().details.empty());
  EXPECT_EQ(response.error().details.find("cannot reach"), std::string::npos);
}

}  // namespace
}  // namespace runvoy::cli::testing

namespace runvoy::cli::testing {
namespace {

TEST(HttpApiClient, SendsTheKeyAndReportsRequestIdsWhenVerbose) {
  Seen seen;
  TestServer server({EchoServer(seen, 200)});
  std::ostringstream verbose;
  HttpApiClientOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api/v1";
  options.api_key = "the-key";
  options.verbose_log = &verbose;
  auto api = MakeHttpApiClient(options);
  auto reply = api->Get("/users");
  ASSERT_TRUE(reply.has_value()) << reply.error().message;
  EXPECT_EQ(reply->request_id, "abc123");
  EXPECT_EQ(reply->body, R"({"got":"/api/v1/users"})");
  EXPECT_EQ(seen.Items()[0], "GET /api/v1/users key=the-key body=");
  EXPECT_EQ(verbose.str(), "request abc123 (see `runvoy trace abc123`)\n");
}

TEST(HttpApiClient, NonSuccessStatusIsAnErrorFromTheBody) {
  Seen seen;
  TestServer server({EchoServer(seen, 409)});
  HttpApiClientOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api/v1";
  auto reply = MakeHttpApiClient(options)->Post("/users/create", boost::json::object{});
  ASSERT_FALSE(reply.has_value());
  EXPECT_EQ(reply.error().code, core::ErrorCode::kConflict);
}

}  // namespace
}  // namespace runvoy::cli::testing
