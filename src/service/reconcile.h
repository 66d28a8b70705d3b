#pragma once

// Reconcile (SPEC.md §2.9): compares the store with the compute provider and the vault.

#include <mutex>
#include <string>
#include <vector>

#include "contract/compute.h"
#include "contract/store.h"
#include "contract/vault.h"
#include "core/time.h"
#include "service/event_processor.h"

namespace runvoy::service {

struct ReconcileIssue {
  std::string resource_type;  // "execution", "task", "image", "secret", "ownership"
  std::string resource_id;
  std::string severity;  // "info", "warning", "error"
  std::string message;
  std::string action;  // what reconcile did: "marked_failed", "stopped", "reported"
};

struct ReconcileReport {
  core::TimePoint timestamp;
  std::string compute_status;  // "ok" or the error
  std::string secrets_status;
  std::string authorizer_status;
  std::vector<ReconcileIssue> issues;
  int reconciled_count = 0;
  int error_count = 0;
};

struct ReconcileSettings {
  std::string node;
  bool stop_orphans = false;
};

// Thread-safe (one reconcile runs at a time); blocks on the store, provider and vault.
class Reconciler {
 public:
  Reconciler(contract::Store& store, contract::ComputeProvider& compute,
             contract::SecretVault& vault, EventProcessor& processor, const core::Clock& clock,
             ReconcileSettings settings);

  ReconcileReport Run();

 private:
  void CheckExecutions(ReconcileReport& report);
  void CheckImages(ReconcileReport& report);
  void CheckSecrets(ReconcileReport& report);

  contract::Store& store_;
  contract::ComputeProvider& compute_;
  contract::SecretVault& vault_;
  EventProcessor& processor_;
  const core::Clock& clock_;
  const ReconcileSettings settings_;
  std::mutex mutex_;  // serialises runs
};

}  // namespace runvoy::service
