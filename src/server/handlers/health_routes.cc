#include <boost/json.hpp>

#include "server/handlers/routes.h"
#include "server/responses.h"

namespace runvoy::server {
namespace {

boost::json::object ReportJson(const service::ReconcileReport& report) {
  boost::json::array issues;
  for (const service::ReconcileIssue& issue : report.issues) {
    issues.push_back(boost::json::object{{"resource_type", issue.resource_type},
                                         {"resource_id", issue.resource_id},
                                         {"severity", issue.severity},
                                         {"message", issue.message},
                                         {"action", issue.action}});
  }
  return boost::json::object{{"timestamp", core::FormatRfc3339(report.timestamp)},
                             {"compute_status", report.compute_status},
                             {"secrets_status", report.secrets_status},
                             {"authorizer_status", report.authorizer_status},
                             {"issues", std::move(issues)},
                             {"reconciled_count", report.reconciled_count},
                             {"error_count", report.error_count}};
}

}  // namespace

void AddHealthRoutes(Router& router, contract::Store& store, service::Reconciler& reconciler,
                     HealthInfo info) {
  router.Add({"GET", "/api/v1/health", std::nullopt, [&store, info](RequestContext&) {
                if (auto ping = store.Ping(); !ping) return ErrorResponse(ping.error());
                boost::json::object body{{"status", "ok"},
                                         {"version", info.version},
                                         {"provider", info.compute_provider},
                                         {"store", info.store_provider}};
                if (!info.region.empty()) body["region"] = info.region;
                return JsonResponse(200, body);
              }});
  router.Add({"POST", "/api/v1/health/reconcile", auth::Action::kReconcile,
              [&reconciler](RequestContext&) {
                return JsonResponse(200, boost::json::object{{"status", "ok"},
                                                             {"report", ReportJson(reconciler.Run())}});
              }});
}

}  // namespace runvoy::server
