#include <boost/json.hpp>

#include "core/ids.h"
#include "server/handlers/routes.h"
#include "server/responses.h"
#include "server/wire.h"

namespace runvoy::server {
namespace {

constexpr std::size_t kDefaultAuditPage = 100;
constexpr std::size_t kMaxAuditPage = 1000;

HttpResponse ListAudit(contract::Store& store, RequestContext& context) {
  int64_t after = 0;
  std::size_t limit = kDefaultAuditPage;
  if (const std::string text = context.Query("after"); !text.empty()) {
    after = core::ParseEventId(text);
    if (after < 0) return ErrorResponse({core::ErrorCode::kInvalidRequest, "invalid after", {}});
  }
  if (const std::string text = context.Query("limit"); !text.empty()) {
    const long long value = core::ParseEventId(text);
    if (value <= 0 || value > static_cast<long long>(kMaxAuditPage)) {
      return ErrorResponse({core::ErrorCode::kInvalidRequest, "invalid limit",
                            "limit must be 1 to 1000"});
    }
    limit = static_cast<std::size_t>(value);
  }
  boost::json::array entries;
  int64_t last_position = 0;
  auto listed = store.Audit().List(after, limit, [&](int64_t position, const core::AuditEntry& entry) {
    entries.push_back(AuditEntryJson(entry));
    last_position = position;
    return true;
  });
  if (!listed) return ErrorResponse(listed.error());
  boost::json::object body;
  const bool full_page = entries.size() == limit;
  body["entries"] = std::move(entries);
  if (full_page) body["next_after"] = std::to_string(last_position);
  return JsonResponse(200, body);
}

HttpResponse ShowTrace(service::Tracer& tracer, RequestContext& context) {
  return Respond(tracer.Find(context.params[0]), [](const service::Trace& trace) {
    boost::json::array logs;
    for (const service::TraceLine& line : trace.logs) {
      logs.push_back(boost::json::object{{"timestamp", core::FormatRfc3339(line.timestamp)},
                                         {"message", line.message}});
    }
    return JsonResponse(200, boost::json::object{
                                 {"logs", std::move(logs)},
                                 {"related_resources", boost::json::object{
                                                           {"executions", StringArray(trace.executions)},
                                                           {"secrets", StringArray(trace.secrets)},
                                                           {"users", StringArray(trace.users)},
                                                           {"images", StringArray(trace.images)},
                                                       }},
                             });
  });
}

}  // namespace

void AddAuditRoutes(Router& router, contract::Store& store, service::Tracer& tracer) {
  router.Add({"GET", "/api/v1/audit", auth::Action::kAudit,
              [&store](RequestContext& context) { return ListAudit(store, context); }});
  router.Add({"GET", "/api/v1/trace/{request_id}", auth::Action::kTrace,
              [&tracer](RequestContext& context) { return ShowTrace(tracer, context); }});
}

}  // namespace runvoy::server
