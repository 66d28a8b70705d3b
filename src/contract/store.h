#pragma once

// The store contract: where runvoy keeps its records. One implementation per database
// (providers/sqlite, providers/postgres, ...); every one must pass tests/contract/store_test.cc.
//
// All methods block on the database and are thread-safe. They never throw. A database that
// cannot be reached or fails answers ErrorCode::kDatabase; a conditional write that finds its
// condition broken answers kConflict; a missing record answers kNotFound where the method
// says so. Each method that writes more than one row does it in one transaction.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "contract/notifier.h"
#include "core/error.h"
#include "core/records.h"
#include "core/time.h"

namespace runvoy::contract {

using core::Result;

class UserRepository {
 public:
  virtual ~UserRepository() = default;

  // Creates a pending user with its claim token. An expired pending user with the same e-mail
  // (expires_at < now) is removed first. kConflict when the e-mail exists otherwise, or when
  // user.api_key_hash is set and another user has that hash.
  virtual Result<void> CreatePending(const core::User& user, const core::ClaimToken& token,
                                     core::TimePoint now) = 0;

  // Creates or replaces the user `user.email` as given (used by --seed-admin when absent and by
  // reset-admin). kConflict when another user has the same api_key_hash.
  virtual Result<void> Put(const core::User& user) = 0;

  virtual Result<std::optional<core::User>> Get(const std::string& email) = 0;
  virtual Result<std::optional<core::User>> FindByKeyHash(const std::string& key_hash) = 0;

  // Every user except pending ones expired before `now`, sorted by e-mail.
  virtual Result<std::vector<core::User>> List(core::TimePoint now) = 0;

  // Claims a token: kNotFound when unknown or expired at `now`; kConflict when already
  // claimed or when `api_key_hash` is taken by another user. On success the user becomes active with that
  // hash and the token claimed, in one transaction. Returns the token as stored before the
  // claim (for its sealed key) and the activated user.
  struct Claimed {
    core::ClaimToken token;
    core::User user;
  };
  virtual Result<Claimed> Claim(const std::string& token_hash, const std::string& api_key_hash,
                                core::TimePoint now, const std::string& request_id) = 0;
  // The token as stored, to read its sealed key before claiming. nullopt when unknown.
  virtual Result<std::optional<core::ClaimToken>> GetClaimToken(const std::string& token_hash) = 0;

  // Revokes `email`: kNotFound when unknown; kConflict when it is the last active admin.
  // Revoking a revoked user succeeds and changes nothing. Returns the user after the change.
  virtual Result<core::User> Revoke(const std::string& email, const std::string& request_id) = 0;

  // Best-effort bookkeeping after an authenticated request.
  virtual Result<void> TouchLastUsed(const std::string& email, core::TimePoint when) = 0;
};

class ImageRepository {
 public:
  virtual ~ImageRepository() = default;

  // Registers `image`. When its image_id exists already, the stored record is kept (and made
  // the default when `make_default`). The first image stored becomes the default;
  // `make_default` makes it the only default. Returns the stored record.
  virtual Result<core::Image> Put(const core::Image& image, bool make_default) = 0;
  virtual Result<std::optional<core::Image>> Get(const std::string& image_id) = 0;
  // Sorted by image reference, then image_id.
  virtual Result<std::vector<core::Image>> List() = 0;
  // kNotFound when unknown. Returns the removed record. No other image becomes default.
  virtual Result<core::Image> Remove(const std::string& image_id) = 0;
};

struct ExecutionFilter {
  std::size_t limit = 10;  // 0 = all
  std::vector<core::ExecutionStatus> statuses;  // empty = any
  std::string created_by;  // empty = anyone
  std::string before;      // an execution_id: only executions older than it
  std::string node;        // empty = any node
};

class ExecutionRepository {
 public:
  virtual ~ExecutionRepository() = default;

  // kConflict when the execution_id exists.
  virtual Result<void> Create(const core::Execution& execution) = 0;
  virtual Result<std::optional<core::Execution>> Get(const std::string& execution_id) = 0;
  // Writes every mutable field of `execution` when the stored status is still `expected`.
  // Returns false (and writes nothing) when it is not; kNotFound when the record is gone.
  virtual Result<bool> Update(const core::Execution& execution,
                              core::ExecutionStatus expected) = 0;
  // Makes `to_node` the execution's node when its node is still `from_node` (a server taking
  // over the executions of a silent peer). False when another server took it first;
  // kNotFound when the record is gone.
  virtual Result<bool> ChangeNode(const std::string& execution_id, const std::string& from_node,
                                  const std::string& to_node) = 0;
  // Newest first (by started_at, then execution_id). `visit` returns false to stop early;
  // rows are streamed, so the whole list is never held in memory.
  virtual Result<void> List(const ExecutionFilter& filter,
                            const std::function<bool(const core::Execution&)>& visit) = 0;
};

class LogRepository {
 public:
  virtual ~LogRepository() = default;

  // Appends events of one execution. Idempotent: an event whose sequence is stored already is
  // skipped, so a provider may re-deliver after a restart.
  virtual Result<void> Append(const std::string& execution_id,
                              const std::vector<core::LogEvent>& events) = 0;
  // Events with sequence > after_sequence in order, at most `limit` (0 = all), streamed to
  // `visit` (false stops).
  virtual Result<void> Read(const std::string& execution_id, int64_t after_sequence,
                            std::size_t limit,
                            const std::function<bool(const core::LogEvent&)>& visit) = 0;
  // The highest stored sequence, 0 when none.
  virtual Result<int64_t> LastSequence(const std::string& execution_id) = 0;
};

class WebSocketTokenRepository {
 public:
  virtual ~WebSocketTokenRepository() = default;
  virtual Result<void> Put(const core::WebSocketToken& token) = 0;
  virtual Result<std::optional<core::WebSocketToken>> Get(const std::string& token_hash) = 0;
};

class AuditRepository {
 public:
  virtual ~AuditRepository() = default;
  // Appends `entries` (consecutive entries of one node's chain) in one transaction. kConflict,
  // and nothing written, when any (node, seq) exists: another writer extended the chain first.
  virtual Result<void> Append(const std::vector<core::AuditEntry>& entries) = 0;
  // The newest entry of `node`'s chain.
  virtual Result<std::optional<core::AuditEntry>> Last(const std::string& node) = 0;
  // Entries in the store's global order; `after` is the position of the last entry seen
  // (0 = from the start). Each visit gets the entry's position.
  virtual Result<void> List(int64_t after, std::size_t limit,
                            const std::function<bool(int64_t position,
                                                     const core::AuditEntry&)>& visit) = 0;
};

class IdempotencyRepository {
 public:
  virtual ~IdempotencyRepository() = default;
  // kConflict when (email, key) exists.
  virtual Result<void> Put(const core::IdempotencyRecord& record) = 0;
  virtual Result<std::optional<core::IdempotencyRecord>> Get(const std::string& email,
                                                              const std::string& key) = 0;
};

class SecretRepository {
 public:
  virtual ~SecretRepository() = default;
  // kSecretAlreadyExists when the name exists; nothing is changed then.
  virtual Result<void> Create(const core::Secret& secret) = 0;
  virtual Result<std::optional<core::Secret>> Get(const std::string& name) = 0;
  virtual Result<std::vector<core::Secret>> List() = 0;  // sorted by name
  // kSecretNotFound when missing.
  virtual Result<void> Update(const core::Secret& secret) = 0;
  virtual Result<void> Remove(const std::string& name) = 0;
};

// Opaque blobs by name, for vaults that keep their (encrypted) values in the store.
class BlobRepository {
 public:
  virtual ~BlobRepository() = default;
  virtual Result<void> Put(const std::string& name, const std::string& value) = 0;
  virtual Result<std::optional<std::string>> Get(const std::string& name) = 0;
  virtual Result<void> Remove(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> Names() = 0;
};

// Small settings and node heartbeats.
class SettingRepository {
 public:
  virtual ~SettingRepository() = default;
  virtual Result<std::optional<std::string>> Get(const std::string& key) = 0;
  virtual Result<void> Put(const std::string& key, const std::string& value) = 0;
};

// A whole store. The repositories live as long as the store.
class Store {
 public:
  virtual ~Store() = default;
  virtual std::string Name() const = 0;  // "sqlite", ...
  // True when several servers may share it (the vault then never invents a master key).
  virtual bool IsShared() const = 0;
  // Cheap liveness probe for /health: kDatabase when unreachable.
  virtual Result<void> Ping() = 0;

  virtual UserRepository& Users() = 0;
  virtual ImageRepository& Images() = 0;
  virtual ExecutionRepository& Executions() = 0;
  virtual LogRepository& Logs() = 0;
  virtual WebSocketTokenRepository& WebSocketTokens() = 0;
  virtual AuditRepository& Audit() = 0;
  virtual IdempotencyRepository& Idempotency() = 0;
  virtual SecretRepository& Secrets() = 0;
  virtual BlobRepository& Blobs() = 0;
  virtual SettingRepository& Settings() = 0;
  // Notices between the servers sharing this store (see contract/notifier.h).
  virtual Notifier& Notices() = 0;
};

}  // namespace runvoy::contract
