#pragma once

// The append-only audit trail (SPEC.md §2.9): one entry per API request and per execution start,
// hash-chained per node.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "contract/store.h"
#include "core/records.h"
#include "core/time.h"

namespace runvoy::service {

// Thread-safe; Record blocks on the store. Concurrent records are written together: while one
// batch is being appended the next ones queue up, and the first of them to wake writes them all
// in one append (group commit), so the request rate is not bound by one store round trip each.
class AuditTrail {
 public:
  AuditTrail(contract::Store& store, const core::Clock& clock, std::string node);

  // Fills seq, time, node, prev_hash and hash, and appends; returns once the entry is stored.
  // Never carries secret values or tokens: callers pass redacted paths and details.
  core::Result<void> Record(core::AuditEntry entry);

 private:
  struct Pending {
    core::AuditEntry entry;
    bool done = false;
    core::Result<void> result;
  };

  // Chains and appends `batch` after last_. Called by one writer at a time, without mutex_.
  core::Result<void> Write(const std::vector<Pending*>& batch);

  contract::Store& store_;
  const core::Clock& clock_;
  const std::string node_;
  std::mutex mutex_;  // guards queue_ and writing_
  std::condition_variable written_;
  std::vector<Pending*> queue_;
  bool writing_ = false;
  // The tail of this node's chain; only the current writer touches them.
  std::optional<core::AuditEntry> last_;
  bool loaded_ = false;
};

}  // namespace runvoy::service
