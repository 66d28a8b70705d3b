#pragma once

// Each file in handlers/ adds the routes of one resource to the router.

#include <string>

#include "contract/compute.h"
#include "contract/store.h"
#include "server/metrics.h"
#include "server/router.h"
#include "service/executions.h"
#include "service/images.h"
#include "service/reconcile.h"
#include "service/secrets.h"
#include "service/trace.h"
#include "service/users.h"

namespace runvoy::server {

struct HealthInfo {
  std::string version;
  std::string compute_provider;
  std::string store_provider;
  std::string region;  // empty when the platform has none
};

void AddHealthRoutes(Router& router, contract::Store& store, service::Reconciler& reconciler,
                     HealthInfo info);
void AddUserRoutes(Router& router, service::Users& users);
// POST /images/import hands its tarball to `compute` (none: the route answers that the
// provider does not import images).
void AddImageRoutes(Router& router, service::Images& images, contract::ComputeProvider* compute);
void AddSecretRoutes(Router& router, service::Secrets& secrets);
void AddExecutionRoutes(Router& router, service::Executions& executions);
void AddAuditRoutes(Router& router, contract::Store& store, service::Tracer& tracer);
// What GET /metrics serves.
struct MetricsAccess {
  const Metrics* metrics = nullptr;  // null: metrics are off and the route answers 404
  std::string token;                 // accepted as "Authorization: Bearer"; empty: none
};
// GET /metrics: the bearer token, or an admin's key.
void AddMetricsRoutes(Router& router, service::Users& users, MetricsAccess access);
// GET /openapi.json and the plain-GET answer of the WebSocket path.
void AddDocumentRoutes(Router& router);

// Every route of the API, in one router.
struct ApiServices {
  contract::Store& store;
  service::Users& users;
  service::Images& images;
  service::Secrets& secrets;
  service::Executions& executions;
  service::Reconciler& reconciler;
  service::Tracer& tracer;
  HealthInfo health;
  MetricsAccess metrics = {};
  contract::ComputeProvider* compute = nullptr;  // for image imports
};
void AddAllRoutes(Router& router, ApiServices services);

}  // namespace runvoy::server
