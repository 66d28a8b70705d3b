#pragma once

// The notifier contract: how the servers sharing one store tell each other what happened to an
// execution (ARCHITECTURE.md "Notifier"). It belongs to the store: every server sharing a
// database hears what the others publish on it (PostgreSQL: LISTEN/NOTIFY; SQLite, which one
// server owns: in-process). Notices are hints, never data: a listener reads what changed from
// the store, so a lost notice delays a follower but loses nothing.

#include <cstdint>
#include <functional>
#include <string>

#include "core/error.h"

namespace runvoy::contract {

using core::Result;

struct Notice {
  enum class Kind {
    kNewEvents,  // log events first_sequence..sequence are stored
    kEnded,      // the execution's final status is stored
    kKill,       // the node `node` must kill the execution (asked through another server)
  };
  Kind kind = Kind::kNewEvents;
  std::string execution_id;
  std::string node;      // the publishing node; for kKill the node that must act
  int64_t first_sequence = 0;  // kNewEvents: the first of the events just stored
  int64_t sequence = 0;        // kNewEvents: the last of the events just stored
  std::string detail;    // kKill: the reason ("user", "reconcile"); otherwise empty
};

// Text form of a notice, one line at most 512 bytes for the ids runvoy makes (PostgreSQL's
// NOTIFY payload limit is 8000 bytes). Parse answers kInvalidRequest on anything else.
std::string EncodeNotice(const Notice& notice);
Result<Notice> DecodeNotice(const std::string& text);

// Publishes and delivers notices. Thread-safe; never throws.
class Notifier {
 public:
  using Listener = std::function<void(const Notice&)>;
  virtual ~Notifier() = default;
  // Sends `notice` to every listener of every server sharing the store, this one included.
  // kDatabase when it cannot be sent now (the caller carries on: notices are hints).
  virtual Result<void> Publish(const Notice& notice) = 0;
  // Starts delivering notices to `listener` on a thread of the notifier, in the order they were
  // published by each server. Called at most once, before the first Publish. After a lost
  // connection the notifier reconnects by itself and then calls `listener` with a notice of
  // kind kNewEvents and an empty execution_id, meaning "you may have missed notices: re-read".
  virtual void Listen(Listener listener) = 0;
  // Stops delivering; no listener call runs after it returns.
  virtual void Stop() = 0;
};

}  // namespace runvoy::contract
