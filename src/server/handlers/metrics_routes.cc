#include <strings.h>

#include "common/crypto.h"
#include "server/handlers/routes.h"
#include "server/responses.h"

namespace runvoy::server {

// Public in the route table: the handler accepts the bearer token as well as an admin's key.
void AddMetricsRoutes(Router& router, service::Users& users, MetricsAccess access) {
  router.Add({"GET", "/api/v1/metrics", std::nullopt, [&users, access](RequestContext& context) {
                if (access.metrics == nullptr) {
                  return ErrorResponse({core::ErrorCode::kNotFound, "not found", {}});
                }
                const std::string authorization = context.request.Header("authorization");
                if (::strncasecmp(authorization.c_str(), "Bearer ", 7) == 0) {
                  if (access.token.empty() ||
                      !common::ConstantTimeEquals(authorization.substr(7), access.token)) {
                    return ErrorResponse({core::ErrorCode::kUnauthorized, "unauthorized",
                                          "wrong or unexpected metrics bearer token"});
                  }
                } else {
                  auto user = users.Authenticate(context.request.Header("x-api-key"));
                  if (!user) return ErrorResponse(user.error());
                  if (auth::ScopeOf(user->role, auth::Action::kMetrics) == auth::Scope::kNone) {
                    return ErrorResponse({core::ErrorCode::kForbidden, "forbidden",
                                          "only admins may read the metrics"});
                  }
                }
                HttpResponse response;
                response.status = 200;
                response.SetHeader("Content-Type", "text/plain; version=0.0.4");
                response.body = access.metrics->Render();
                return response;
              }});
}

}  // namespace runvoy::server
