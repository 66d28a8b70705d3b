#pragma once

// The append-only audit trail (SPEC.md §2.9): one entry per API request and per execution start,
// hash-chained per node.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "contract/store.h"
#include "core/records.h"
#include "core/time.h"

namespace runvoy::service {

// Thread-safe; Record blocks on the store.
class AuditTrail {
 public:
  AuditTrail(contract::Store& store, const core::Clock& clock, std::string node);

  // Fills seq, time, node, prev_hash and hash, and appends. Never carries secret values or
  // tokens: callers pass redacted paths and details.
  core::Result<void> Record(core::AuditEntry entry);

 private:
  contract::Store& store_;
  const core::Clock& clock_;
  const std::string node_;
  std::mutex mutex_;  // guards last_ and serialises appends of this node's chain
  std::optional<core::AuditEntry> last_;
  bool loaded_ = false;
};

}  // namespace runvoy::service
