#include "cli/log_follower.h"

#include <csignal>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "core/status.h"

namespace runvoy::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

enum class SessionEnd {
  kFinished,     // the disconnect frame arrived
  kRefused,      // the server declined the upgrade (token refused)
  kUnreachable,  // no connection could be made
  kDropped,      // the connection broke after it was open
  kInterrupted,  // Ctrl-C
};

}  // namespace

std::optional<WebSocketTarget> ParseWebSocketUrl(const std::string& url,
                                                 const std::string& last_event_id) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return std::nullopt;
  }
  WebSocketTarget target;
  const std::string scheme(parsed->scheme());
  if (scheme == "wss" || scheme == "https") {
    target.tls = true;
  } else if (scheme != "ws" && scheme != "http") {
    return std::nullopt;
  }
  target.host = std::string(parsed->host());
  if (target.host.empty()) {
    return std::nullopt;
  }
  if (target.host.front() == '[' && target.host.back() == ']') {
    target.host = target.host.substr(1, target.host.size() - 2);
  }
  target.port = parsed->has_port() ? std::string(parsed->port()) : (target.tls ? "443" : "80");
  target.target = std::string(parsed->encoded_path());
  if (target.target.empty()) {
    target.target = "/";
  }
  std::string query = parsed->has_query() ? std::string(parsed->encoded_query()) : "";
  if (!last_event_id.empty()) {
    if (!query.empty()) {
      query += "&";
    }
    query += "last_event_id=" + UrlEncode(last_event_id);
  }
  if (!query.empty()) {
    target.target += "?" + query;
  }
  return target;
}

class LogFollower::Impl {
 public:
  Impl(ApiClient& api, LogPrinter& printer, std::ostream& err, const Style& style,
       FollowOptions options)
      : api_(api),
        printer_(printer),
        err_(err),
        style_(style),
        options_(std::move(options)),
        signals_(ioc_) {
    if (options_.handle_signals) {
      signals_.add(SIGINT);
      ArmSignal();
    }
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;

  ~Impl() {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    signals_.clear(ignored);
  }

  core::Result<FollowOutcome> Follow(const std::string& execution_id,
                                     const std::string& websocket_url) {
    execution_id_ = execution_id;
    bool use_websocket = !websocket_url.empty();
    int failures = 0;
    while (true) {
      if (!use_websocket) {
        return Poll();
      }
      const SessionEnd end = RunSession(websocket_url);
      switch (end) {
        case SessionEnd::kFinished: return Finish();
        case SessionEnd::kInterrupted: {
          auto choice = HandleInterrupt();
          if (!choice) {
            return tl::unexpected(choice.error());
          }
          if (*choice) {
            return Detached();
          }
          continue;
        }
        case SessionEnd::kRefused: use_websocket = false; continue;
        case SessionEnd::kUnreachable:
          if (!ever_connected_) {
            // The WebSocket cannot be opened at all (a proxy without upgrades, a firewall):
            // polling works wherever the API does.
            use_websocket = false;
            continue;
          }
          [[fallthrough]];
        case SessionEnd::kDropped:
          if (session_received_) {
            failures = 0;
          }
          if (++failures > options_.max_reconnects) {
            use_websocket = false;
            continue;
          }
          if (!Pause(options_.poll_interval * failures)) {
            auto choice = HandleInterrupt();
            if (!choice) {
              return tl::unexpected(choice.error());
            }
            if (*choice) {
              return Detached();
            }
          }
          continue;
      }
    }
  }

 private:
  void ArmSignal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) {
        interrupted_ = true;
      }
    });
  }

  // Runs the I/O loop until `done`. On Ctrl-C calls `cancel`, lets the operation finish and
  // returns false.
  bool Wait(const bool& done, const std::function<void()>& cancel) {
    ioc_.restart();
    while (!done) {
      if (interrupted_) {
        cancel();
        while (!done && ioc_.run_one() > 0) {
        }
        return false;
      }
      ioc_.run_one();
    }
    return !interrupted_;
  }

  // Waits `duration`; false when interrupted.
  bool Pause(std::chrono::milliseconds duration) {
    asio::steady_timer timer(ioc_, duration);
    bool done = false;
    timer.async_wait([&](const boost::system::error_code&) { done = true; });
    return Wait(done, [&] { timer.cancel(); });
  }

  // Asks what to do after Ctrl-C. Returns true to detach, false to go on following (after
  // asking the server to kill the execution).
  core::Result<bool> HandleInterrupt() {
    interrupted_ = false;
    InterruptChoice choice = InterruptChoice::kDetach;
    if (options_.on_interrupt && !kill_sent_) {
      choice = options_.on_interrupt();
    }
    if (options_.handle_signals) {
      ArmSignal();
    }
    if (choice == InterruptChoice::kDetach) {
      return true;
    }
    auto reply = api_.Delete("/executions/" + UrlEncode(execution_id_));
    if (!reply) {
      return tl::unexpected(reply.error());
    }
    kill_sent_ = true;
    if (reply->status == 204) {
      err_ << style_.Dim("execution " + execution_id_ + " has already finished") << "\n";
    } else {
      err_ << style_.Yellow("stopping execution " + execution_id_ + "…") << "\n";
    }
    return false;
  }

  core::Result<FollowOutcome> Detached() {
    err_ << "detached; the execution goes on. Follow it with `runvoy logs -f " << execution_id_
         << "`\n";
    FollowOutcome outcome;
    outcome.detached = true;
    return outcome;
  }

  void ReadFrame(const std::string& text) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) {
      return;
    }
    if (value.is_array()) {
      for (const LogEvent& event : ParseLogEvents(value)) {
        printer_.Write(event);
      }
      return;
    }
    if (!value.is_object()) {
      return;
    }
    const json::object& object = value.as_object();
    if (const json::value* type = object.if_contains("type"); type && type->is_string()) {
      if (type->as_string() == "disconnect") {
        disconnected_ = true;
        if (const json::value* status = object.if_contains("status");
            status && status->is_string()) {
          final_status_ = std::string(status->as_string());
        }
        if (const json::value* code = object.if_contains("exit_code");
            code && (code->is_int64() || code->is_uint64())) {
          final_exit_code_ = static_cast<int>(code->to_number<int64_t>());
        }
      }
      return;
    }
    if (auto event = ParseLogEvent(value)) {
      printer_.Write(*event);
    }
  }

  SessionEnd RunSession(const std::string& url) {
    session_received_ = false;
    auto target = ParseWebSocketUrl(url, printer_.last_event_id());
    if (!target) {
      return SessionEnd::kRefused;
    }
    if (target->tls) {
      asio::ssl::context tls(asio::ssl::context::tls_client);
      tls.set_default_verify_paths();
      tls.set_verify_mode(asio::ssl::verify_peer);
      websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc_, tls);
      return Session(ws, *target);
    }
    websocket::stream<beast::tcp_stream> ws(ioc_);
    return Session(ws, *target);
  }

  template <typename Ws>
  SessionEnd Session(Ws& ws, const WebSocketTarget& target) {
    auto& socket_layer = beast::get_lowest_layer(ws);
    auto cancel = [&] { socket_layer.cancel(); };
    bool done = false;
    boost::system::error_code ec;

    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(target.host, target.port,
                           [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             done = true;
                           });
    if (!Wait(done, [&] { resolver.cancel(); })) {
      return SessionEnd::kInterrupted;
    }
    if (ec) {
      return SessionEnd::kUnreachable;
    }

    socket_layer.expires_after(std::chrono::seconds(30));
    done = false;
    socket_layer.async_connect(endpoints,
                               [&](const boost::system::error_code& e, const tcp::endpoint&) {
                                 ec = e;
                                 done = true;
                               });
    if (!Wait(done, cancel)) {
      return SessionEnd::kInterrupted;
    }
    if (ec) {
      return SessionEnd::kUnreachable;
    }

    if constexpr (!std::is_same_v<Ws, websocket::stream<beast::tcp_stream>>) {
      if (!SSL_set_tlsext_host_name(ws.next_layer().native_handle(), target.host.c_str())) {
        return SessionEnd::kUnreachable;
      }
      ws.next_layer().set_verify_callback(asio::ssl::host_name_verification(target.host));
      done = false;
      ws.next_layer().async_handshake(asio::ssl::stream_base::client,
                                      [&](const boost::system::error_code& e) {
                                        ec = e;
                                        done = true;
                                      });
      if (!Wait(done, cancel)) {
        return SessionEnd::kInterrupted;
      }
      if (ec) {
        return SessionEnd::kUnreachable;
      }
    }

    socket_layer.expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(30);
    timeouts.idle_timeout = std::chrono::seconds(60);
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "runvoy-cli");
    }));
    ws.read_message_max(64 * 1024 * 1024);

    websocket::response_type response;
    done = false;
    const std::string host_header =
        target.host + ((target.port == "80" || target.port == "443") ? "" : ":" + target.port);
    ws.async_handshake(response, host_header, target.target,
                       [&](const boost::system::error_code& e) {
                         ec = e;
                         done = true;
                       });
    if (!Wait(done, cancel)) {
      return SessionEnd::kInterrupted;
    }
    if (ec == websocket::error::upgrade_declined) {
      return SessionEnd::kRefused;
    }
    if (ec) {
      return SessionEnd::kUnreachable;
    }
    ever_connected_ = true;

    beast::flat_buffer buffer;
    while (true) {
      done = false;
      ws.async_read(buffer, [&](const boost::system::error_code& e, size_t) {
        ec = e;
        done = true;
      });
      if (!Wait(done, cancel)) {
        return SessionEnd::kInterrupted;
      }
      if (ec) {
        return disconnected_ ? SessionEnd::kFinished : SessionEnd::kDropped;
      }
      session_received_ = true;
      ReadFrame(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      if (disconnected_) {
        done = false;
        ws.async_close(websocket::close_code::normal,
                       [&](const boost::system::error_code&) { done = true; });
        Wait(done, cancel);
        return SessionEnd::kFinished;
      }
    }
  }

  core::Result<FollowOutcome> Poll() {
    int failures = 0;
    while (true) {
      std::string status;
      bool page_more = true;
      while (page_more) {
        std::string path = "/executions/" + UrlEncode(execution_id_) + "/logs";
        if (!printer_.last_event_id().empty()) {
          path += "?after=" + UrlEncode(printer_.last_event_id());
        }
        auto reply = api_.Get(path);
        if (!reply) {
          if (reply.error().code != core::ErrorCode::kServiceUnavailable ||
              ++failures > options_.max_reconnects) {
            return tl::unexpected(reply.error());
          }
          break;
        }
        failures = 0;
        const json::value body = reply->Json();
        if (!body.is_object()) {
          return core::Fail(core::ErrorCode::kInternal, "the server sent malformed logs");
        }
        const json::object& object = body.as_object();
        if (const json::value* events = object.if_contains("events")) {
          for (const LogEvent& event : ParseLogEvents(*events)) {
            printer_.Write(event);
          }
        }
        if (const json::value* s = object.if_contains("status"); s && s->is_string()) {
          status = std::string(s->as_string());
        }
        const json::value* next = object.if_contains("next_after");
        page_more = next != nullptr && next->is_string() && !next->as_string().empty();
        if (page_more && !EventIdBefore(printer_.last_event_id(), std::string(next->as_string()))) {
          printer_.SkipThrough(std::string(next->as_string()));
        }
      }
      const auto parsed = core::ParseStatus(status);
      if (parsed && core::IsTerminal(*parsed)) {
        return Finish();
      }
      if (!Pause(options_.poll_interval)) {
        auto choice = HandleInterrupt();
        if (!choice) {
          return tl::unexpected(choice.error());
        }
        if (*choice) {
          return Detached();
        }
      }
    }
  }

  core::Result<FollowOutcome> Finish() {
    FollowOutcome outcome;
    if (final_exit_code_) {
      outcome.exit_code = *final_exit_code_;
      outcome.status = final_status_;
      return outcome;
    }
    auto reply = api_.Get("/executions/" + UrlEncode(execution_id_) + "/status");
    if (!reply) {
      return tl::unexpected(reply.error());
    }
    const json::value body = reply->Json();
    outcome.status = Field(body, "status");
    const json::value* code =
        body.is_object() ? body.as_object().if_contains("exit_code") : nullptr;
    if (code != nullptr && (code->is_int64() || code->is_uint64())) {
      outcome.exit_code = static_cast<int>(code->to_number<int64_t>());
    } else {
      outcome.exit_code = outcome.status == "SUCCEEDED" ? 0 : 1;
    }
    return outcome;
  }

  ApiClient& api_;
  LogPrinter& printer_;
  std::ostream& err_;
  const Style& style_;
  FollowOptions options_;
  asio::io_context ioc_;
  asio::signal_set signals_;
  bool interrupted_ = false;
  bool kill_sent_ = false;
  bool session_received_ = false;
  bool ever_connected_ = false;
  bool disconnected_ = false;
  std::string final_status_;
  std::optional<int> final_exit_code_;
  std::string execution_id_;
};

LogFollower::LogFollower(ApiClient& api, LogPrinter& printer, std::ostream& err, const Style& style,
                         FollowOptions options)
    : impl_(std::make_unique<Impl>(api, printer, err, style, std::move(options))) {}

LogFollower::~LogFollower() = default;

core::Result<FollowOutcome> LogFollower::Follow(const std::string& execution_id,
                                                const std::string& websocket_url) {
  return impl_->Follow(execution_id, websocket_url);
}

}  // namespace runvoy::cli
