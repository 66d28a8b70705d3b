#include "service/trace.h"

namespace runvoy::service {

Tracer::Tracer(contract::Store& store, const core::Clock& clock, std::size_t capacity)
    : store_(store), clock_(clock), capacity_(capacity) {}

void Tracer::Remember(core::log::Level, std::string_view request_id, std::string_view message) {
  if (request_id.empty()) return;
  std::scoped_lock lock(mutex_);
  lines_.push_back({std::string(request_id), {clock_.Now(), std::string(message)}});
  while (lines_.size() > capacity_) lines_.pop_front();
}

core::Result<Trace> Tracer::Find(const std::string& request_id) {
  Trace trace;
  {
    std::scoped_lock lock(mutex_);
    for (const Line& line : lines_) {
      if (line.request_id == request_id) trace.logs.push_back(line.line);
    }
  }
  const auto touched = [&](const std::string& created, const std::string& modified) {
    return created == request_id || modified == request_id;
  };
  contract::ExecutionFilter all;
  all.limit = 0;
  auto executions = store_.Executions().List(all, [&](const core::Execution& execution) {
    if (touched(execution.created_by_request_id, execution.modified_by_request_id)) {
      trace.executions.push_back(execution.execution_id);
    }
    return true;
  });
  if (!executions) return tl::unexpected(executions.error());
  auto users = store_.Users().List(clock_.Now());
  if (!users) return tl::unexpected(users.error());
  for (const core::User& user : *users) {
    if (touched(user.created_by_request_id, user.modified_by_request_id)) {
      trace.users.push_back(user.email);
    }
  }
  auto images = store_.Images().List();
  if (!images) return tl::unexpected(images.error());
  for (const core::Image& image : *images) {
    if (touched(image.created_by_request_id, image.modified_by_request_id)) {
      trace.images.push_back(image.image_id);
    }
  }
  auto secrets = store_.Secrets().List();
  if (!secrets) return tl::unexpected(secrets.error());
  for (const core::Secret& secret : *secrets) {
    if (touched(secret.created_by_request_id, secret.modified_by_request_id)) {
      trace.secrets.push_back(secret.name);
    }
  }
  return trace;
}

}  // namespace runvoy::service
