#include "server/handlers/routes.h"
#include "server/openapi_document.h"
#include "server/responses.h"

namespace runvoy::server {

void AddDocumentRoutes(Router& router) {
  router.Add({"GET", "/api/v1/openapi.json", std::nullopt, [](RequestContext&) {
                HttpResponse response;
                response.SetHeader("Content-Type", "application/json");
                response.body = std::string(OpenApiDocument());
                return response;
              }});
  // Upgrades never reach the router; a plain GET of the WebSocket path is a client mistake.
  router.Add({"GET", "/api/v1/ws", std::nullopt, [](RequestContext&) {
                return ErrorResponse({core::ErrorCode::kInvalidRequest,
                                      "expected a WebSocket upgrade",
                                      "connect with a WebSocket client to the websocket_url"});
              }});
}

void AddAllRoutes(Router& router, ApiServices services) {
  AddDocumentRoutes(router);
  AddHealthRoutes(router, services.store, services.reconciler, services.health);
  AddUserRoutes(router, services.users);
  AddImageRoutes(router, services.images, services.compute);
  AddSecretRoutes(router, services.secrets);
  AddExecutionRoutes(router, services.executions);
  AddAuditRoutes(router, services.store, services.tracer);
  AddMetricsRoutes(router, services.users, services.metrics);
}

}  // namespace runvoy::server
