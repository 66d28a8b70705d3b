#include "service/audit_trail.h"

#include <utility>

#include "core/audit_hash.h"

namespace runvoy::service {

AuditTrail::AuditTrail(contract::Store& store, const core::Clock& clock, std::string node)
    : store_(store), clock_(clock), node_(std::move(node)) {}

core::Result<void> AuditTrail::Record(core::AuditEntry entry) {
  Pending mine{std::move(entry)};
  std::unique_lock lock(mutex_);
  queue_.push_back(&mine);
  while (!mine.done) {
    if (writing_) {
      written_.wait(lock);
      continue;
    }
    writing_ = true;
    std::vector<Pending*> batch;
    batch.swap(queue_);
    lock.unlock();
    const core::Result<void> result = Write(batch);
    lock.lock();
    for (Pending* pending : batch) {
      pending->result = result;
      pending->done = true;
    }
    writing_ = false;
    written_.notify_all();
  }
  return mine.result;
}

core::Result<void> AuditTrail::Write(const std::vector<Pending*>& batch) {
  // Another process of the same node ID (a restart racing the old one) may extend the chain;
  // on conflict reload the tail and try again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!loaded_) {
      auto last = store_.Audit().Last(node_);
      if (!last) return tl::unexpected(last.error());
      last_ = *last;
      loaded_ = true;
    }
    std::vector<core::AuditEntry> entries;
    entries.reserve(batch.size());
    const core::TimePoint now = clock_.Now();
    const core::AuditEntry* previous = last_ ? &*last_ : nullptr;
    for (Pending* pending : batch) {
      core::AuditEntry entry = pending->entry;
      entry.node = node_;
      entry.time = now;
      entry.seq = previous ? previous->seq + 1 : 1;
      entry.prev_hash = previous ? previous->hash : std::string();
      entry.hash = core::AuditEntryHash(entry);
      entries.push_back(std::move(entry));
      previous = &entries.back();
    }
    auto appended = store_.Audit().Append(entries);
    if (appended) {
      last_ = entries.back();
      return {};
    }
    if (appended.error().code != core::ErrorCode::kConflict) return appended;
    loaded_ = false;
  }
  return core::Fail(core::ErrorCode::kDatabase, "audit chain is contended");
}

}  // namespace runvoy::service
