#pragma once

// The API's request pipeline (SPEC.md §1): routing first (404/405), request ID, CORS, API-key
// authentication with rate limiting of failures, the role policy, the handler, then one access
// log line and one audit entry per API request. Also serves the web viewer's files.

#include <string>
#include <vector>

#include "core/ids.h"
#include "core/time.h"
#include "server/auth_failure_limiter.h"
#include "server/http_message.h"
#include "server/metrics.h"
#include "server/router.h"
#include "service/audit_trail.h"
#include "service/last_used_recorder.h"
#include "service/users.h"

namespace runvoy::server {

struct ApiOptions {
  std::vector<std::string> cors_origins;     // "*" allows any
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For is believed
  std::string public_url;                    // empty: from the request's Host
  int auth_failure_limit = 30;
  Metrics* metrics = nullptr;  // when set, counts and times every request
};

class Api final : public HttpHandler {
 public:
  Api(const Router& router, service::Users& users, service::AuditTrail& audit,
      service::LastUsedRecorder& last_used, const core::Clock& clock, core::IdGenerator& ids,
      ApiOptions options);

  HttpResponse Handle(HttpRequest request) override;
  HttpResponse HandleOversized(HttpRequest head) override;

 private:
  struct Outcome;
  HttpResponse Dispatch(const HttpRequest& request, const std::string& request_id,
                        Outcome& outcome);
  HttpResponse Finish(const HttpRequest& request, const std::string& request_id,
                      HttpResponse response, const Outcome& outcome,
                      std::chrono::steady_clock::time_point started);
  std::string ClientIp(const HttpRequest& request) const;
  std::string PublicBaseUrl(const HttpRequest& request) const;
  void AddCorsHeaders(const HttpRequest& request, HttpResponse& response) const;

  const Router& router_;
  service::Users& users_;
  service::AuditTrail& audit_;
  service::LastUsedRecorder& last_used_;
  const core::Clock& clock_;
  core::IdGenerator& ids_;
  const ApiOptions options_;
  AuthFailureLimiter limiter_;
};

// The target with tokens replaced by *** (claim paths, token= query values), for logs, audit
// entries and traces.
std::string RedactTarget(const std::string& target);

}  // namespace runvoy::server
