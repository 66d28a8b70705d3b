#include "server/api.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/log.h"
#include "server/error_response.h"
#include "server/static_files.h"

namespace runvoy::server {
namespace {

constexpr std::size_t kMaxClientRequestId = 128;

std::string SanitizedClientRequestId(const std::string& value) {
  std::string out;
  for (char c : value.substr(0, kMaxClientRequestId)) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == ':') {
      out.push_back(c);
    }
  }
  return out;
}

std::string Trim(std::string text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

void AddSecurityHeaders(HttpResponse& response) {
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.SetHeader("X-Frame-Options", "DENY");
  response.SetHeader("Referrer-Policy", "no-referrer");
  response.SetHeader("Cache-Control", "no-store");
}

}  // namespace

// What the pipeline learned about a request, for the access log and the audit entry.
struct Api::Outcome {
  bool api = false;
  std::string_view route = "viewer";  // the matched route's pattern, for the metrics
  std::string user;
  std::string role;
  std::string client_ip;
  std::string resource;
  std::string detail;
};

std::string RedactTarget(const std::string& target) {
  std::string out = target;
  const std::string claim = "/api/v1/claim/";
  if (out.rfind(claim, 0) == 0) {
    const auto end = out.find('?', claim.size());
    out = claim + "***" + (end == std::string::npos ? std::string() : out.substr(end));
  }
  std::size_t pos = 0;
  while ((pos = out.find("token=", pos)) != std::string::npos) {
    if (pos == 0 || out[pos - 1] == '?' || out[pos - 1] == '&') {
      const auto value_start = pos + 6;
      const auto value_end = out.find('&', value_start);
      out.replace(value_start,
                  (value_end == std::string::npos ? out.size() : value_end) - value_start, "***");
    }
    pos += 6;
  }
  return out;
}

Api::Api(const Router& router, service::Users& users, service::AuditTrail& audit,
         service::LastUsedRecorder& last_used, const core::Clock& clock, core::IdGenerator& ids,
         ApiOptions options)
    : router_(router),
      users_(users),
      audit_(audit),
      last_used_(last_used),
      clock_(clock),
      ids_(ids),
      options_(std::move(options)),
      limiter_(options_.auth_failure_limit, clock) {}

std::string Api::ClientIp(const HttpRequest& request) const {
  const bool trusted = std::find(options_.trusted_proxies.begin(), options_.trusted_proxies.end(),
                                 request.peer_ip) != options_.trusted_proxies.end();
  if (trusted) {
    const std::string forwarded = request.Header("x-forwarded-for");
    if (!forwarded.empty()) {
      std::string first = Trim(forwarded.substr(0, forwarded.find(',')));
      if (!first.empty() && first.size() <= 64) return first;
    }
  }
  return request.peer_ip;
}

std::string Api::PublicBaseUrl(const HttpRequest& request) const {
  if (!options_.public_url.empty()) {
    std::string url = options_.public_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  }
  std::string host = request.Header("host");
  const bool host_ok = !host.empty() && host.size() <= 255 &&
                       std::all_of(host.begin(), host.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                                c == '-' || c == ':' || c == '[' || c == ']';
                       });
  if (!host_ok) host = "127.0.0.1";
  return std::string(request.tls ? "https://" : "http://") + host;
}

void Api::AddCorsHeaders(const HttpRequest& request, HttpResponse& response) const {
  const std::string origin = request.Header("origin");
  if (origin.empty() || options_.cors_origins.empty()) return;
  const bool any = std::find(options_.cors_origins.begin(), options_.cors_origins.end(), "*") !=
                   options_.cors_origins.end();
  const bool listed = std::find(options_.cors_origins.begin(), options_.cors_origins.end(),
                                origin) != options_.cors_origins.end();
  if (!any && !listed) return;
  response.SetHeader("Access-Control-Allow-Origin", origin);
  response.SetHeader("Vary", "Origin");
  response.SetHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
  response.SetHeader("Access-Control-Allow-Headers", "Content-Type, X-API-Key");
  response.SetHeader("Access-Control-Expose-Headers", "X-Request-ID");
  response.SetHeader("Access-Control-Max-Age", "3600");
}

HttpResponse Api::Handle(HttpRequest request) {
  const auto started = std::chrono::steady_clock::now();
  const std::string request_id = ids_.NewHexId();
  Outcome outcome;
  HttpResponse response;
  try {
    response = Dispatch(request, request_id, outcome);
  } catch (const std::exception& e) {
    core::log::Error(request_id, "handler failed: {}", e.what());
    response = ErrorResponse({core::ErrorCode::kInternal, "internal error", {}});
  }
  return Finish(request, request_id, std::move(response), outcome, started);
}

HttpResponse Api::HandleOversized(HttpRequest head) {
  const auto started = std::chrono::steady_clock::now();
  const std::string request_id = ids_.NewHexId();
  Outcome outcome;
  outcome.client_ip = ClientIp(head);
  outcome.route = "unmatched";
  HttpResponse response;
  auto target = ParseTarget(head.target);
  if (!target) {
    response = ErrorResponse(target.error());
  } else if (router_.Match(head.method, target->segments).allowed.empty()) {
    response = ErrorResponse({core::ErrorCode::kNotFound, "not found", {}});
  } else {
    outcome.api = true;
    response = ErrorResponse({core::ErrorCode::kPayloadTooLarge, "request body too large",
                              "the limit is max_body_bytes"});
  }
  response.SetHeader("Connection", "close");
  return Finish(head, request_id, std::move(response), outcome, started);
}

HttpResponse Api::Dispatch(const HttpRequest& request, const std::string& request_id,
                           Outcome& outcome) {
  outcome.client_ip = ClientIp(request);
  auto target = ParseTarget(request.target);
  if (!target) return ErrorResponse(target.error());

  const bool api_path = target->segments.size() >= 2 && target->segments[0] == "api" &&
                        target->segments[1] == "v1";
  if (!api_path) return ServeViewer(request.method, target->path);
  outcome.api = true;
  outcome.route = "unmatched";

  const RouteMatch match = router_.Match(request.method, target->segments);
  if (match.allowed.empty()) return ErrorResponse({core::ErrorCode::kNotFound, "not found", {}});
  if (request.method == "OPTIONS") {
    HttpResponse preflight;
    preflight.status = 200;
    return preflight;
  }
  if (match.route == nullptr) {
    std::string allow;
    for (const std::string& method : match.allowed) allow += (allow.empty() ? "" : ", ") + method;
    allow += ", OPTIONS";
    HttpResponse response = ErrorResponse({core::ErrorCode::kMethodNotAllowed,
                                           "method not allowed", "allowed: " + allow});
    response.SetHeader("Allow", allow);
    return response;
  }
  outcome.route = match.route->pattern;

  RequestContext context{request, match.params, target->query, request_id, outcome.client_ip,
                         std::nullopt, {}, PublicBaseUrl(request), {}, {}};
  context.caller.request_id = request_id;
  std::chrono::seconds retry_after{0};
  const auto limited = [&] {
    HttpResponse response = ErrorResponse({core::ErrorCode::kRateLimited,
                                           "too many failed attempts", "try again later"});
    response.SetHeader("Retry-After", std::to_string(retry_after.count()));
    return response;
  };

  if (match.route->action) {
    auto user = users_.Authenticate(request.Header("x-api-key"));
    if (!user) {
      if (user.error().code == core::ErrorCode::kDatabase) return ErrorResponse(user.error());
      if (limiter_.IsLimited(outcome.client_ip, retry_after)) return limited();
      limiter_.RecordFailure(outcome.client_ip);
      return ErrorResponse(user.error());
    }
    last_used_.Touch(user->email, clock_.Now());
    outcome.user = user->email;
    outcome.role = std::string(core::RoleName(user->role));
    context.caller.email = user->email;
    context.caller.role = user->role;
    context.user = std::move(*user);
    if (auth::ScopeOf(context.caller.role, *match.route->action) == auth::Scope::kNone) {
      return ErrorResponse({core::ErrorCode::kForbidden, "forbidden",
                            fmt::format("role {} may not {}", outcome.role,
                                        auth::ActionName(*match.route->action))});
    }
  } else if (match.route->pattern == "/api/v1/claim/{token}" &&
             limiter_.IsLimited(outcome.client_ip, retry_after)) {
    return limited();
  }

  HttpResponse response = match.route->handler(context);
  if (match.route->pattern == "/api/v1/claim/{token}" && response.status >= 400 &&
      response.status < 500) {
    limiter_.RecordFailure(outcome.client_ip);
  }
  // The metrics route checks its key or bearer token itself; a failure counts like a failed key.
  if (match.route->pattern == "/api/v1/metrics" && response.status == 401) {
    if (limiter_.IsLimited(outcome.client_ip, retry_after)) return limited();
    limiter_.RecordFailure(outcome.client_ip);
  }
  outcome.resource = context.audit_resource;
  outcome.detail = context.audit_detail;
  return response;
}

HttpResponse Api::Finish(const HttpRequest& request, const std::string& request_id,
                         HttpResponse response, const Outcome& outcome,
                         std::chrono::steady_clock::time_point started) {
  response.SetHeader("X-Request-ID", request_id);
  AddCorsHeaders(request, response);
  if (outcome.api) AddSecurityHeaders(response);
  const std::string client_request_id = SanitizedClientRequestId(request.Header("x-request-id"));
  const std::string target = RedactTarget(request.target);
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  if (options_.metrics != nullptr) {
    options_.metrics->RecordRequest(outcome.route, request.method, response.status,
                                    static_cast<double>(elapsed.count()) / 1e6);
  }
  core::log::Info(request_id, "{} {} {} {:.1f}ms ip={} user={}{}{}", request.method, target,
                  response.status, static_cast<double>(elapsed.count()) / 1000.0,
                  outcome.client_ip, outcome.user.empty() ? "-" : outcome.user,
                  client_request_id.empty() ? "" : " client_request_id=", client_request_id);
  if (outcome.api) {
    core::AuditEntry entry;
    entry.request_id = request_id;
    entry.client_request_id = client_request_id;
    entry.user = outcome.user;
    entry.role = outcome.role;
    entry.method = request.method;
    entry.path = target;
    entry.status = response.status;
    entry.client_ip = outcome.client_ip;
    entry.resource = outcome.resource;
    entry.detail = outcome.detail;
    if (auto recorded = audit_.Record(std::move(entry)); !recorded) {
      core::log::Error(request_id, "audit entry not recorded: {}", recorded.error().message);
    }
  }
  return response;
}

}  // namespace runvoy::server
