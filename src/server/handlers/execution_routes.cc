#include <algorithm>
#include <memory>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/ids.h"
#include "server/handlers/routes.h"
#include "server/json_body.h"
#include "server/log_event_json.h"
#include "server/responses.h"
#include "server/wire.h"

namespace runvoy::server {
namespace {

constexpr std::size_t kPageSize = 500;

std::string WebSocketUrl(const std::string& base_url, const std::string& execution_id,
                         const std::string& token) {
  std::string ws_base = base_url;
  if (ws_base.rfind("https://", 0) == 0) {
    ws_base = "wss://" + ws_base.substr(8);
  } else if (ws_base.rfind("http://", 0) == 0) {
    ws_base = "ws://" + ws_base.substr(7);
  }
  return fmt::format("{}/api/v1/ws?execution_id={}&token={}", ws_base, execution_id, token);
}

core::Result<service::RunRequest> ParseRunRequest(const std::string& text) {
  auto body = JsonBody::Parse(text);
  if (!body) return tl::unexpected(body.error());
  service::RunRequest request;
  auto command = body->String("command");
  if (!command) return tl::unexpected(command.error());
  request.command = command->value_or("");
  for (auto [field, target] :
       {std::pair{"image", &request.image}, std::pair{"git_repo", &request.git_repo},
        std::pair{"git_ref", &request.git_ref}, std::pair{"git_path", &request.git_path}}) {
    auto value = body->String(field);
    if (!value) return tl::unexpected(value.error());
    *target = value->value_or("");
  }
  auto env = body->StringMap("env");
  if (!env) return tl::unexpected(env.error());
  request.env = env->value_or(std::map<std::string, std::string>());
  auto secrets = body->StringList("secrets");
  if (!secrets) return tl::unexpected(secrets.error());
  request.secrets = secrets->value_or(std::vector<std::string>());
  auto timeout = body->Integer("timeout");
  if (!timeout) return tl::unexpected(timeout.error());
  request.timeout_seconds = timeout->value_or(0);
  return request;
}

HttpResponse Run(service::Executions& executions, RequestContext& context) {
  auto request = ParseRunRequest(context.request.body);
  if (!request) return ErrorResponse(request.error());
  const std::string idempotency_key = context.request.Header("idempotency-key");
  return Respond(executions.Run(context.caller, *request, idempotency_key),
                 [&](const service::RunAccepted& accepted) {
                   const core::Execution& execution = accepted.execution;
                   context.audit_resource = "execution:" + execution.execution_id;
                   context.audit_detail = fmt::format("image={}", execution.image_id);
                   return JsonResponse(
                       202, boost::json::object{
                                {"execution_id", execution.execution_id},
                                {"status", core::StatusName(execution.status)},
                                {"command", execution.command},
                                {"image_id", execution.image_id},
                                {"log_url", ""},
                                {"websocket_url", WebSocketUrl(context.public_base_url,
                                                               execution.execution_id,
                                                               accepted.websocket_token)},
                            });
                 });
}

core::Result<contract::ExecutionFilter> ParseListQuery(const RequestContext& context) {
  contract::ExecutionFilter filter;
  if (const std::string limit = context.Query("limit"); !limit.empty()) {
    const long long value = core::ParseEventId(limit);
    if (value < 0 || value > 1000000) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid limit",
                        "limit must be a non-negative integer (0 = all)");
    }
    filter.limit = static_cast<std::size_t>(value);
  }
  if (const std::string statuses = context.Query("status"); !statuses.empty()) {
    std::size_t start = 0;
    while (start <= statuses.size()) {
      const auto end = statuses.find(',', start);
      std::string name = statuses.substr(start, end == std::string::npos ? std::string::npos : end - start);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
      const auto status = core::ParseStatus(name);
      if (!status) {
        return core::Fail(core::ErrorCode::kInvalidRequest, "invalid status",
                          fmt::format("\"{}\" is not an execution status", name.substr(0, 32)));
      }
      filter.statuses.push_back(*status);
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  filter.created_by = context.Query("created_by");
  filter.before = context.Query("before");
  if (!filter.before.empty() && !service::IsValidExecutionId(filter.before)) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid before",
                      "before must be an execution_id");
  }
  return filter;
}

// Streams the list page by page so that limit=0 never holds every record in memory.
HttpResponse ListExecutions(service::Executions& executions, RequestContext& context) {
  auto filter = ParseListQuery(context);
  if (!filter) return ErrorResponse(filter.error());
  struct Cursor {
    contract::ExecutionFilter filter;
    std::size_t remaining;  // with a limit: how many may still be sent
    bool opened = false;
    bool any = false;
    bool done = false;
  };
  // Check access and the store once up front, so errors get a proper status.
  contract::ExecutionFilter probe = *filter;
  probe.limit = 1;
  if (auto checked = executions.List(context.caller, probe, [](const core::Execution&) { return true; });
      !checked) {
    return ErrorResponse(checked.error());
  }
  auto cursor = std::make_shared<Cursor>(Cursor{*filter, filter->limit});
  HttpResponse response;
  response.SetHeader("Content-Type", "application/json");
  const service::Caller caller = context.caller;
  response.producer = [&executions, caller, cursor](std::string& chunk) {
    chunk.clear();
    if (cursor->done) return false;
    if (!cursor->opened) {
      chunk += '[';
      cursor->opened = true;
    }
    contract::ExecutionFilter page = cursor->filter;
    page.limit = cursor->filter.limit == 0 ? kPageSize : std::min(kPageSize, cursor->remaining);
    std::size_t count = 0;
    auto listed = executions.List(caller, page, [&](const core::Execution& execution) {
      if (cursor->any) chunk += ',';
      cursor->any = true;
      chunk += boost::json::serialize(ExecutionJson(execution));
      cursor->filter.before = execution.execution_id;
      ++count;
      return true;
    });
    if (cursor->filter.limit != 0) cursor->remaining -= count;
    // A store failure mid-stream cannot change the status any more: end the array cleanly.
    if (!listed || count < page.limit || (cursor->filter.limit != 0 && cursor->remaining == 0)) {
      chunk += ']';
      cursor->done = true;
      return false;
    }
    return true;
  };
  return response;
}

core::Result<std::pair<int64_t, std::size_t>> ParseLogsQuery(const RequestContext& context) {
  int64_t after = 0;
  std::size_t limit = 0;
  if (const std::string text = context.Query("after"); !text.empty()) {
    after = core::ParseEventId(text);
    if (after < 0) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid after",
                        "after must be an event_id");
    }
  }
  if (const std::string text = context.Query("limit"); !text.empty()) {
    const long long value = core::ParseEventId(text);
    if (value < 0 || value > 10000000) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "invalid limit",
                        "limit must be a non-negative integer (0 = all)");
    }
    limit = static_cast<std::size_t>(value);
  }
  return std::pair{after, limit};
}

// Streams every event so far (or one page of them with after/limit), however many there are.
HttpResponse Logs(service::Executions& executions, RequestContext& context) {
  auto paging = ParseLogsQuery(context);
  if (!paging) return ErrorResponse(paging.error());
  auto opened = executions.OpenLogs(context.caller, context.params[0]);
  if (!opened) return ErrorResponse(opened.error());
  struct Cursor {
    std::string execution_id;
    int64_t after;
    std::size_t remaining;  // 0 with limit 0 = everything
    std::size_t limit;
    std::size_t sent = 0;
    std::string tail;
    int stage = 0;  // 0 head, 1 events, 2 done
  };
  const core::Execution& execution = opened->execution;
  boost::json::object head{{"execution_id", execution.execution_id},
                           {"status", core::StatusName(execution.status)}};
  std::string head_text = boost::json::serialize(head);
  head_text.pop_back();  // reopen the object to append "events"
  std::string tail;
  if (opened->websocket_token) {
    tail += fmt::format(",\"websocket_url\":{}",
                        boost::json::serialize(boost::json::value(WebSocketUrl(
                            context.public_base_url, execution.execution_id,
                            *opened->websocket_token))));
  }
  auto cursor = std::make_shared<Cursor>(
      Cursor{execution.execution_id, paging->first, paging->second, paging->second, 0, tail, 0});
  HttpResponse response;
  response.SetHeader("Content-Type", "application/json");
  response.producer = [&executions, cursor, head_text](std::string& chunk) {
    chunk.clear();
    if (cursor->stage == 0) {
      chunk = head_text + ",\"events\":[";
      cursor->stage = 1;
      return true;
    }
    if (cursor->stage == 2) return false;
    std::size_t page = kPageSize * 4;
    if (cursor->limit != 0) page = std::min(page, cursor->remaining);
    std::size_t count = 0;
    auto read = executions.ReadLogs(cursor->execution_id, cursor->after, page,
                                    [&](const core::LogEvent& event) {
                                      if (cursor->sent + count > 0) chunk += ',';
                                      chunk += SerializeLogEvent(event);
                                      cursor->after = event.sequence;
                                      ++count;
                                      return true;
                                    });
    cursor->sent += count;
    if (cursor->limit != 0) cursor->remaining -= count;
    const bool limit_reached = cursor->limit != 0 && cursor->remaining == 0;
    if (!read || count < page || limit_reached) {
      chunk += ']';
      chunk += cursor->tail;
      if (limit_reached) {
        chunk += fmt::format(",\"next_after\":\"{}\"", core::FormatEventId(cursor->after));
      }
      chunk += '}';
      cursor->stage = 2;
      return false;
    }
    return true;
  };
  return response;
}

HttpResponse Kill(service::Executions& executions, RequestContext& context) {
  const std::string& id = context.params[0];
  context.audit_resource = "execution:" + id;
  return Respond(executions.Kill(context.caller, id), [&](service::KillResult result) {
    if (result == service::KillResult::kAlreadyFinished) return NoContent();
    return JsonResponse(200, boost::json::object{{"execution_id", id},
                                                 {"message", "execution is being stopped"}});
  });
}

}  // namespace

void AddExecutionRoutes(Router& router, service::Executions& executions) {
  router.Add({"POST", "/api/v1/run", auth::Action::kRun,
              [&executions](RequestContext& context) { return Run(executions, context); }});
  router.Add({"GET", "/api/v1/executions", auth::Action::kListExecutions,
              [&executions](RequestContext& context) { return ListExecutions(executions, context); }});
  router.Add({"GET", "/api/v1/executions/{id}/status", auth::Action::kReadExecution,
              [&executions](RequestContext& context) {
                return Respond(executions.Get(context.caller, context.params[0]),
                               [](const core::Execution& execution) {
                                 return JsonResponse(200, ExecutionStatusJson(execution));
                               });
              }});
  router.Add({"GET", "/api/v1/executions/{id}/logs", auth::Action::kReadExecution,
              [&executions](RequestContext& context) { return Logs(executions, context); }});
  router.Add({"DELETE", "/api/v1/executions/{id}", auth::Action::kKillExecution,
              [&executions](RequestContext& context) { return Kill(executions, context); }});
}

}  // namespace runvoy::server
