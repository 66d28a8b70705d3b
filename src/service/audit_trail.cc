#include "service/audit_trail.h"

#include "core/audit_hash.h"

namespace runvoy::service {

AuditTrail::AuditTrail(contract::Store& store, const core::Clock& clock, std::string node)
    : store_(store), clock_(clock), node_(std::move(node)) {}

core::Result<void> AuditTrail::Record(core::AuditEntry entry) {
  std::scoped_lock lock(mutex_);
  entry.node = node_;
  entry.time = clock_.Now();
  // Another process of the same node ID (a restart racing the old one) may extend the chain;
  // on conflict reload the tail and try again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!loaded_) {
      auto last = store_.Audit().Last(node_);
      if (!last) return tl::unexpected(last.error());
      last_ = *last;
      loaded_ = true;
    }
    entry.seq = last_ ? last_->seq + 1 : 1;
    entry.prev_hash = last_ ? last_->hash : std::string();
    entry.hash = core::AuditEntryHash(entry);
    auto appended = store_.Audit().Append(entry);
    if (appended) {
      last_ = entry;
      return {};
    }
    if (appended.error().code != core::ErrorCode::kConflict) return appended;
    loaded_ = false;
  }
  return core::Fail(core::ErrorCode::kDatabase, "audit chain is contended");
}

}  // namespace runvoy::service
