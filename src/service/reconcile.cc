#include "service/reconcile.h"

#include <algorithm>
#include <set>

namespace runvoy::service {

Reconciler::Reconciler(contract::Store& store, contract::ComputeProvider& compute,
                       contract::SecretVault& vault, EventProcessor& processor,
                       const core::Clock& clock, ReconcileSettings settings)
    : store_(store),
      compute_(compute),
      vault_(vault),
      processor_(processor),
      clock_(clock),
      settings_(std::move(settings)) {}

ReconcileReport Reconciler::Run() {
  std::scoped_lock lock(mutex_);
  ReconcileReport report;
  report.timestamp = clock_.Now();
  report.compute_status = "ok";
  report.secrets_status = "ok";
  report.authorizer_status = "ok";
  CheckExecutions(report);
  CheckImages(report);
  CheckSecrets(report);
  for (const ReconcileIssue& issue : report.issues) {
    if (issue.severity == "error") ++report.error_count;
  }
  return report;
}

void Reconciler::CheckExecutions(ReconcileReport& report) {
  auto tasks = compute_.List();
  if (!tasks) {
    report.compute_status = tasks.error().message;
    return;
  }
  std::set<std::string> known_tasks;
  for (const contract::TaskState& task : *tasks) known_tasks.insert(task.execution_id);

  contract::ExecutionFilter filter;
  filter.limit = 0;
  filter.node = settings_.node;
  filter.statuses = {core::ExecutionStatus::kStarting, core::ExecutionStatus::kRunning,
                     core::ExecutionStatus::kTerminating};
  std::vector<core::Execution> unfinished;
  auto listed = store_.Executions().List(filter, [&](const core::Execution& execution) {
    unfinished.push_back(execution);
    return true;
  });
  if (!listed) {
    report.authorizer_status = listed.error().message;
    return;
  }
  for (const core::Execution& execution : unfinished) {
    if (known_tasks.count(execution.execution_id) > 0) continue;
    // Re-read: the task may have ended (and been recorded) since the list was taken.
    auto current = store_.Executions().Get(execution.execution_id);
    if (!current || !*current || core::IsTerminal((*current)->status)) continue;
    const bool failed = processor_.FailVanished(
        execution.execution_id, "reconcile: the task is gone from the compute provider");
    report.issues.push_back({"execution", execution.execution_id, "error",
                             "execution is recorded as running but its task is gone",
                             failed ? "marked_failed" : "reported"});
    if (failed) ++report.reconciled_count;
  }

  for (const contract::TaskState& task : *tasks) {
    auto record = store_.Executions().Get(task.execution_id);
    if (!record) continue;
    if (*record) continue;
    std::string action = "reported";
    if (settings_.stop_orphans && task.running &&
        compute_.Kill(task.execution_id, contract::KillReason::kReconcile)) {
      action = "stopped";
      ++report.reconciled_count;
    }
    report.issues.push_back({"task", task.execution_id, "warning",
                             "the compute provider runs a task that has no execution record",
                             action});
  }
}

void Reconciler::CheckImages(ReconcileReport& report) {
  auto images = store_.Images().List();
  if (!images) return;
  auto users = store_.Users().List(clock_.Now());
  std::set<std::string> emails;
  if (users) {
    for (const core::User& user : *users) emails.insert(user.email);
  }
  for (const core::Image& image : *images) {
    contract::ImageSpec spec{image.image_id, image.image,  image.normalized,
                             image.cpu,      image.memory, image.runtime_platform};
    if (auto usable = compute_.CheckImage(spec); !usable) {
      report.issues.push_back({"image", image.image_id, "warning",
                               "the compute provider cannot use this image: " +
                                   usable.error().message + " " + usable.error().details,
                               "reported"});
    }
    for (const std::string& owner : image.owned_by) {
      if (users && emails.count(owner) == 0) {
        report.issues.push_back({"ownership", "image:" + image.image_id, "warning",
                                 "owner " + owner + " is not a user", "reported"});
      }
    }
  }
}

void Reconciler::CheckSecrets(ReconcileReport& report) {
  auto secrets = store_.Secrets().List();
  if (!secrets) {
    report.secrets_status = secrets.error().message;
    return;
  }
  auto users = store_.Users().List(clock_.Now());
  std::set<std::string> emails;
  if (users) {
    for (const core::User& user : *users) emails.insert(user.email);
  }
  for (const core::Secret& secret : *secrets) {
    for (const std::string& owner : secret.owned_by) {
      if (users && emails.count(owner) == 0) {
        report.issues.push_back({"ownership", "secret:" + secret.name, "warning",
                                 "owner " + owner + " is not a user", "reported"});
      }
    }
    auto value = vault_.Get(secret.name);
    if (!value) {
      report.secrets_status = value.error().message;
      report.issues.push_back({"secret", secret.name, "error", value.error().message, "reported"});
    } else if (!*value) {
      report.issues.push_back({"secret", secret.name, "error", "the secret has no stored value",
                               "reported"});
    }
  }
}

}  // namespace runvoy::service
