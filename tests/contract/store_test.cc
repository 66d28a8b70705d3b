// The store contract suite: every Store implementation must pass it. Add an implementation by
// adding a factory to Factories() below.

#include "contract/store.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/records.h"
#include "core/status.h"
#include "core/time.h"
#include "providers/sqlite/sqlite_store.h"
#if RUNVOY_WITH_POSTGRES
#include "providers/postgres/postgres_store.h"
#include "support/postgres.h"
#endif

namespace runvoy::contract {
namespace {

using core::ErrorCode;
using core::ExecutionStatus;

// Opens a fresh, empty store whose files (if any) live under `dir`.
struct NamedStoreFactory {
  std::string name;
  std::function<Result<std::unique_ptr<Store>>(const std::string& dir)> open;
};

// How GoogleTest names a parameter in test listings.
void PrintTo(const NamedStoreFactory& factory, std::ostream* out) {
  *out << factory.name;
}

std::vector<NamedStoreFactory> Factories() {
  return {
      {"sqlite",
       [](const std::string& dir) {
         return providers::sqlite::OpenSqliteStore(dir + "/runvoy.db");
       }},
#if RUNVOY_WITH_POSTGRES
      // A fresh database in the ctest fixture's cluster (tests/support/postgres.h); without
      // the fixture the test fails with the reason rather than skipping.
      {"postgres",
       [](const std::string&) -> Result<std::unique_ptr<Store>> {
         providers::postgres::PostgresOptions options;
         options.dsn = runvoy::testing::FreshPostgresDatabase();
         if (options.dsn.empty()) {
           return core::Fail(ErrorCode::kDatabase, "no PostgreSQL test database");
         }
         return providers::postgres::OpenPostgresStore(options);
       }},
#endif
  };
}

core::TimePoint T(int64_t ms) {
  return core::FromUnixMillis(ms);
}

class StoreContractTest : public ::testing::TestWithParam<NamedStoreFactory> {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/runvoy-store-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto opened = GetParam().open(dir_);
    ASSERT_TRUE(opened.has_value()) << opened.error().message << ": " << opened.error().details;
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Store& Db() { return *store_; }

  static core::User Pending(const std::string& email, int64_t expires_ms) {
    core::User user;
    user.email = email;
    user.role = core::Role::kDeveloper;
    user.status = core::UserStatus::kPending;
    user.created_at = T(1000);
    user.expires_at = T(expires_ms);
    user.created_by_request_id = "req-create";
    user.modified_by_request_id = "req-create";
    return user;
  }
  static core::ClaimToken Token(const std::string& hash, const std::string& email,
                                int64_t expires_ms, const std::string& sealed = {}) {
    core::ClaimToken token;
    token.token_hash = hash;
    token.email = email;
    token.created_at = T(1000);
    token.expires_at = T(expires_ms);
    token.sealed_api_key = sealed;
    return token;
  }
  static core::User Active(const std::string& email, core::Role role, const std::string& hash) {
    core::User user;
    user.email = email;
    user.role = role;
    user.status = core::UserStatus::kActive;
    user.api_key_hash = hash;
    user.created_at = T(500);
    user.created_by_request_id = "req-seed";
    user.modified_by_request_id = "req-seed";
    return user;
  }
  static core::Image MakeImage(const std::string& id, const std::string& reference) {
    core::Image image;
    image.image_id = id;
    image.image = reference;
    image.cpu = 512;
    image.memory = 1024;
    image.image_name = reference;
    image.image_tag = "latest";
    image.normalized = "docker.io/" + reference + ":latest";
    image.created_by = "admin@example.com";
    image.owned_by = {"admin@example.com", "dev@example.com"};
    image.created_at = T(2000);
    image.created_by_request_id = "req-img";
    image.modified_by_request_id = "req-img";
    return image;
  }
  static core::Execution MakeExecution(const std::string& id, int64_t started_ms,
                                       const std::string& created_by = "dev@example.com") {
    core::Execution e;
    e.execution_id = id;
    e.created_by = created_by;
    e.owned_by = {created_by};
    e.command = "echo hello";
    e.image_id = "ubuntu:latest-0123abcd";
    e.started_at = T(started_ms);
    e.status = ExecutionStatus::kStarting;
    e.log_stream_name = "runvoy/" + id;
    e.created_by_request_id = "req-run";
    e.modified_by_request_id = "req-run";
    e.cloud = "local";
    e.node = "node-a";
    e.task_ref = "task-" + id;
    e.timeout_seconds = 60;
    e.timings.accepted = T(started_ms);
    e.request.env_keys = {"A", "B"};
    e.request.secrets = {"db-password"};
    e.request.git_repo = "https://example.com/repo.git";
    e.request.git_ref = "main";
    e.request.git_path = "sub";
    return e;
  }
  static core::LogEvent Event(int64_t sequence, const std::string& message,
                              core::LogStream stream = core::LogStream::kStdout) {
    return core::LogEvent{sequence, 1000 + sequence, stream, message, false};
  }
  static core::Secret MakeSecret(const std::string& name) {
    core::Secret secret;
    secret.name = name;
    secret.key_name = "KEY_" + name;
    secret.description = "the " + name;
    secret.created_by = "dev@example.com";
    secret.owned_by = {"dev@example.com", "ops@example.com"};
    secret.created_at = T(3000);
    secret.updated_at = T(3000);
    secret.updated_by = "dev@example.com";
    secret.created_by_request_id = "req-secret";
    secret.modified_by_request_id = "req-secret";
    return secret;
  }
  static core::AuditEntry Audit(const std::string& node, int64_t seq) {
    core::AuditEntry entry;
    entry.seq = seq;
    entry.time = T(4000 + seq);
    entry.node = node;
    entry.request_id = "req-" + std::to_string(seq);
    entry.client_request_id = "client-" + std::to_string(seq);
    entry.user = "admin@example.com";
    entry.role = "admin";
    entry.method = "POST";
    entry.path = "/api/v1/run";
    entry.status = 202;
    entry.client_ip = "127.0.0.1";
    entry.resource = "execution:x";
    entry.detail = "detail";
    entry.prev_hash = "prev" + std::to_string(seq);
    entry.hash = "hash" + std::to_string(seq);
    return entry;
  }

  std::vector<std::string> ListIds(const ExecutionFilter& filter) {
    std::vector<std::string> ids;
    auto listed = Db().Executions().List(filter, [&](const core::Execution& e) {
      ids.push_back(e.execution_id);
      return true;
    });
    EXPECT_TRUE(listed.has_value());
    return ids;
  }
  std::vector<core::LogEvent> ReadLogs(const std::string& id, int64_t after = 0,
                                       std::size_t limit = 0) {
    std::vector<core::LogEvent> events;
    auto read = Db().Logs().Read(id, after, limit, [&](const core::LogEvent& event) {
      events.push_back(event);
      return true;
    });
    EXPECT_TRUE(read.has_value());
    return events;
  }
  static std::vector<int64_t> Sequences(const std::vector<core::LogEvent>& events) {
    std::vector<int64_t> out;
    out.reserve(events.size());
    for (const auto& event : events) {
      out.push_back(event.sequence);
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContractTest, PingAnswersWhenTheStoreIsOpen) {
  EXPECT_TRUE(Db().Ping().has_value());
  EXPECT_FALSE(Db().Name().empty());
}

TEST_P(StoreContractTest, CreatePendingStoresTheUserAndItsToken) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 9000),
                                 Token("tok-a", "a@example.com", 9000, "sealed"), T(1000))
                  .has_value());
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value());
  ASSERT_TRUE(user->has_value());
  EXPECT_EQ((*user)->status, core::UserStatus::kPending);
  EXPECT_EQ((*user)->role, core::Role::kDeveloper);
  EXPECT_EQ((*user)->expires_at, T(9000));
  EXPECT_EQ((*user)->created_at, T(1000));
  EXPECT_EQ((*user)->created_by_request_id, "req-create");
  EXPECT_FALSE((*user)->last_used.has_value());
  auto token = Db().Users().GetClaimToken("tok-a");
  ASSERT_TRUE(token.has_value());
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->email, "a@example.com");
  EXPECT_EQ((*token)->expires_at, T(9000));
  EXPECT_EQ((*token)->sealed_api_key, "sealed");
  EXPECT_FALSE((*token)->claimed);
}

TEST_P(StoreContractTest, UnknownUserAndTokenAreAbsent) {
  auto user = Db().Users().Get("nobody@example.com");
  ASSERT_TRUE(user.has_value());
  EXPECT_FALSE(user->has_value());
  auto token = Db().Users().GetClaimToken("nope");
  ASSERT_TRUE(token.has_value());
  EXPECT_FALSE(token->has_value());
  auto by_hash = Db().Users().FindByKeyHash("nope");
  ASSERT_TRUE(by_hash.has_value());
  EXPECT_FALSE(by_hash->has_value());
}

TEST_P(StoreContractTest, CreatePendingOfAnExistingEmailIsConflictAndChangesNothing) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 9000),
                                 Token("tok-1", "a@example.com", 9000), T(1000))
                  .has_value());
  core::User again = Pending("a@example.com", 12000);
  again.role = core::Role::kAdmin;
  auto created = Db().Users().CreatePending(again, Token("tok-2", "a@example.com", 12000), T(2000));
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, ErrorCode::kConflict);
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->role, core::Role::kDeveloper);
  EXPECT_EQ((*user)->expires_at, T(9000));
  auto token = Db().Users().GetClaimToken("tok-2");
  ASSERT_TRUE(token.has_value());
  EXPECT_FALSE(token->has_value());
}

TEST_P(StoreContractTest, CreatePendingOfAnActiveUsersEmailIsConflict) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "hash-a")).has_value());
  auto created = Db().Users().CreatePending(Pending("a@example.com", 9000),
                                            Token("tok", "a@example.com", 9000), T(1000));
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, ErrorCode::kConflict);
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->status, core::UserStatus::kActive);
}

TEST_P(StoreContractTest, CreatePendingReplacesAnExpiredPendingUserAndItsToken) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 5000),
                                 Token("tok-old", "a@example.com", 5000), T(1000))
                  .has_value());
  core::User fresh = Pending("a@example.com", 20000);
  fresh.role = core::Role::kOperator;
  ASSERT_TRUE(Db().Users()
                  .CreatePending(fresh, Token("tok-new", "a@example.com", 20000), T(6000))
                  .has_value());
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->role, core::Role::kOperator);
  EXPECT_EQ((*user)->expires_at, T(20000));
  auto old_token = Db().Users().GetClaimToken("tok-old");
  ASSERT_TRUE(old_token.has_value());
  EXPECT_FALSE(old_token->has_value());
  auto new_token = Db().Users().GetClaimToken("tok-new");
  ASSERT_TRUE(new_token.has_value());
  EXPECT_TRUE(new_token->has_value());
}

TEST_P(StoreContractTest, CreatePendingWithAKeyHashAnotherUserHasIsConflict) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "hash-a")).has_value());
  core::User pending = Pending("b@example.com", 9000);
  pending.api_key_hash = "hash-a";
  auto created =
      Db().Users().CreatePending(pending, Token("tok-b", "b@example.com", 9000), T(1000));
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, ErrorCode::kConflict);
  auto user = Db().Users().Get("b@example.com");
  ASSERT_TRUE(user.has_value());
  EXPECT_FALSE(user->has_value());
}

TEST_P(StoreContractTest, PutCreatesThenReplacesAUser) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "hash-1")).has_value());
  core::User replaced = Active("a@example.com", core::Role::kOperator, "hash-2");
  replaced.modified_by_request_id = "req-reset";
  replaced.last_used = T(7777);
  ASSERT_TRUE(Db().Users().Put(replaced).has_value());
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->role, core::Role::kOperator);
  EXPECT_EQ((*user)->api_key_hash, "hash-2");
  EXPECT_EQ((*user)->modified_by_request_id, "req-reset");
  EXPECT_EQ((*user)->last_used, T(7777));
  auto old_hash = Db().Users().FindByKeyHash("hash-1");
  ASSERT_TRUE(old_hash.has_value());
  EXPECT_FALSE(old_hash->has_value());
}

TEST_P(StoreContractTest, PutWithAKeyHashAnotherUserHasIsConflictAndChangesNothing) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "hash-a")).has_value());
  ASSERT_TRUE(Db().Users().Put(Active("b@example.com", core::Role::kViewer, "hash-b")).has_value());
  auto put = Db().Users().Put(Active("b@example.com", core::Role::kAdmin, "hash-a"));
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kConflict);
  auto user = Db().Users().Get("b@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->role, core::Role::kViewer);
  EXPECT_EQ((*user)->api_key_hash, "hash-b");
}

TEST_P(StoreContractTest, FindByKeyHashFindsTheUserWithThatHash) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "hash-a")).has_value());
  ASSERT_TRUE(Db().Users().Put(Active("b@example.com", core::Role::kViewer, "hash-b")).has_value());
  auto found = Db().Users().FindByKeyHash("hash-b");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->email, "b@example.com");
}

TEST_P(StoreContractTest, ListSortsByEmailAndSkipsExpiredPendingUsers) {
  ASSERT_TRUE(Db().Users().Put(Active("c@example.com", core::Role::kAdmin, "hash-c")).has_value());
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 5000),
                                 Token("tok-a", "a@example.com", 5000), T(1000))
                  .has_value());
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("b@example.com", 50000),
                                 Token("tok-b", "b@example.com", 50000), T(1000))
                  .has_value());
  auto before_expiry = Db().Users().List(T(4000));
  ASSERT_TRUE(before_expiry.has_value());
  std::vector<std::string> emails;
  for (const auto& user : *before_expiry) {
    emails.push_back(user.email);
  }
  EXPECT_EQ(emails, (std::vector<std::string>{"a@example.com", "b@example.com", "c@example.com"}));
  auto after_expiry = Db().Users().List(T(6000));
  ASSERT_TRUE(after_expiry.has_value());
  emails.clear();
  for (const auto& user : *after_expiry) {
    emails.push_back(user.email);
  }
  EXPECT_EQ(emails, (std::vector<std::string>{"b@example.com", "c@example.com"}));
}

TEST_P(StoreContractTest, ClaimActivatesTheUserAndMarksTheTokenClaimed) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 9000),
                                 Token("tok-a", "a@example.com", 9000, "sealed-key"), T(1000))
                  .has_value());
  auto claimed = Db().Users().Claim("tok-a", "hash-a", T(2000), "req-claim");
  ASSERT_TRUE(claimed.has_value()) << claimed.error().message;
  EXPECT_FALSE(claimed->token.claimed);
  EXPECT_EQ(claimed->token.sealed_api_key, "sealed-key");
  EXPECT_EQ(claimed->user.email, "a@example.com");
  EXPECT_EQ(claimed->user.status, core::UserStatus::kActive);
  EXPECT_EQ(claimed->user.api_key_hash, "hash-a");
  EXPECT_EQ(claimed->user.modified_by_request_id, "req-claim");

  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->status, core::UserStatus::kActive);
  EXPECT_EQ((*user)->api_key_hash, "hash-a");
  EXPECT_EQ((*user)->modified_by_request_id, "req-claim");
  auto token = Db().Users().GetClaimToken("tok-a");
  ASSERT_TRUE(token.has_value() && token->has_value());
  EXPECT_TRUE((*token)->claimed);
  auto by_hash = Db().Users().FindByKeyHash("hash-a");
  ASSERT_TRUE(by_hash.has_value() && by_hash->has_value());
  EXPECT_EQ((*by_hash)->email, "a@example.com");
}

TEST_P(StoreContractTest, ClaimedUserStaysListedAfterItsInvitationWouldHaveExpired) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 9000),
                                 Token("tok-a", "a@example.com", 9000), T(1000))
                  .has_value());
  ASSERT_TRUE(Db().Users().Claim("tok-a", "hash-a", T(2000), "req").has_value());
  auto users = Db().Users().List(T(100000));
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ(users->front().email, "a@example.com");
}

TEST_P(StoreContractTest, ClaimOfAnUnknownTokenIsNotFound) {
  auto claimed = Db().Users().Claim("nope", "hash", T(1000), "req");
  ASSERT_FALSE(claimed.has_value());
  EXPECT_EQ(claimed.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ClaimOfAnExpiredTokenIsNotFoundAndChangesNothing) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 5000),
                                 Token("tok-a", "a@example.com", 5000), T(1000))
                  .has_value());
  auto claimed = Db().Users().Claim("tok-a", "hash-a", T(6000), "req");
  ASSERT_FALSE(claimed.has_value());
  EXPECT_EQ(claimed.error().code, ErrorCode::kNotFound);
  auto token = Db().Users().GetClaimToken("tok-a");
  ASSERT_TRUE(token.has_value() && token->has_value());
  EXPECT_FALSE((*token)->claimed);
}

TEST_P(StoreContractTest, ClaimOfAClaimedTokenIsConflict) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 9000),
                                 Token("tok-a", "a@example.com", 9000), T(1000))
                  .has_value());
  ASSERT_TRUE(Db().Users().Claim("tok-a", "hash-1", T(2000), "req-1").has_value());
  auto again = Db().Users().Claim("tok-a", "hash-2", T(3000), "req-2");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->api_key_hash, "hash-1");
  EXPECT_EQ((*user)->modified_by_request_id, "req-1");
}

TEST_P(StoreContractTest, ClaimWithATakenKeyHashIsConflictAndChangesNothing) {
  ASSERT_TRUE(Db().Users().Put(Active("b@example.com", core::Role::kAdmin, "hash-b")).has_value());
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 9000),
                                 Token("tok-a", "a@example.com", 9000), T(1000))
                  .has_value());
  auto claimed = Db().Users().Claim("tok-a", "hash-b", T(2000), "req");
  ASSERT_FALSE(claimed.has_value());
  EXPECT_EQ(claimed.error().code, ErrorCode::kConflict);
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->status, core::UserStatus::kPending);
  auto token = Db().Users().GetClaimToken("tok-a");
  ASSERT_TRUE(token.has_value() && token->has_value());
  EXPECT_FALSE((*token)->claimed);
}

TEST_P(StoreContractTest, RevokeOfAnUnknownUserIsNotFound) {
  auto revoked = Db().Users().Revoke("nobody@example.com", "req");
  ASSERT_FALSE(revoked.has_value());
  EXPECT_EQ(revoked.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, RevokeOfTheLastActiveAdminIsConflictAndChangesNothing) {
  ASSERT_TRUE(Db().Users().Put(Active("admin@example.com", core::Role::kAdmin, "h1")).has_value());
  core::User revoked_admin = Active("old@example.com", core::Role::kAdmin, "h2");
  revoked_admin.status = core::UserStatus::kRevoked;
  ASSERT_TRUE(Db().Users().Put(revoked_admin).has_value());
  ASSERT_TRUE(Db().Users().Put(Active("op@example.com", core::Role::kOperator, "h3")).has_value());
  auto revoked = Db().Users().Revoke("admin@example.com", "req");
  ASSERT_FALSE(revoked.has_value());
  EXPECT_EQ(revoked.error().code, ErrorCode::kConflict);
  auto user = Db().Users().Get("admin@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->status, core::UserStatus::kActive);
}

TEST_P(StoreContractTest, RevokeOfAnAdminSucceedsWhileAnotherAdminIsActive) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "h1")).has_value());
  ASSERT_TRUE(Db().Users().Put(Active("b@example.com", core::Role::kAdmin, "h2")).has_value());
  auto revoked = Db().Users().Revoke("a@example.com", "req-revoke");
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(revoked->status, core::UserStatus::kRevoked);
  EXPECT_EQ(revoked->modified_by_request_id, "req-revoke");
  auto last = Db().Users().Revoke("b@example.com", "req");
  ASSERT_FALSE(last.has_value());
  EXPECT_EQ(last.error().code, ErrorCode::kConflict);
}

TEST_P(StoreContractTest, RevokeOfARevokedUserSucceedsAndChangesNothing) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "h1")).has_value());
  ASSERT_TRUE(Db().Users().Put(Active("d@example.com", core::Role::kDeveloper, "h2")).has_value());
  ASSERT_TRUE(Db().Users().Revoke("d@example.com", "req-1").has_value());
  auto again = Db().Users().Revoke("d@example.com", "req-2");
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->revoked());
  EXPECT_EQ(again->modified_by_request_id, "req-1");
  auto user = Db().Users().Get("d@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->modified_by_request_id, "req-1");
}

TEST_P(StoreContractTest, RevokeOfANonAdminNeverNeedsAnotherAdmin) {
  ASSERT_TRUE(Db().Users().Put(Active("d@example.com", core::Role::kDeveloper, "h")).has_value());
  auto revoked = Db().Users().Revoke("d@example.com", "req");
  ASSERT_TRUE(revoked.has_value());
  EXPECT_TRUE(revoked->revoked());
}

TEST_P(StoreContractTest, TouchLastUsedRecordsTheTime) {
  ASSERT_TRUE(Db().Users().Put(Active("a@example.com", core::Role::kAdmin, "h")).has_value());
  ASSERT_TRUE(Db().Users().TouchLastUsed("a@example.com", T(12345)).has_value());
  auto user = Db().Users().Get("a@example.com");
  ASSERT_TRUE(user.has_value() && user->has_value());
  EXPECT_EQ((*user)->last_used, T(12345));
  EXPECT_TRUE(Db().Users().TouchLastUsed("nobody@example.com", T(1)).has_value());
}

TEST_P(StoreContractTest, ConcurrentClaimsOfOneTokenSucceedExactlyOnce) {
  ASSERT_TRUE(Db().Users()
                  .CreatePending(Pending("a@example.com", 90000),
                                 Token("tok-a", "a@example.com", 90000), T(1000))
                  .has_value());
  constexpr int kThreads = 8;
  std::atomic<int> successes{0};
  std::atomic<int> conflicts{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        auto claimed = Db().Users().Claim("tok-a", "hash-" + std::to_string(i), T(2000), "req");
        if (claimed) {
          ++successes;
        } else if (claimed.error().code == ErrorCode::kConflict) {
          ++conflicts;
        }
      });
    }
  }
  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TEST_P(StoreContractTest, ConcurrentCreatesOfOnePendingUserSucceedExactlyOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> successes{0};
  std::atomic<int> conflicts{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        auto created = Db().Users().CreatePending(
            Pending("a@example.com", 9000),
            Token("tok-" + std::to_string(i), "a@example.com", 9000), T(1000));
        if (created) {
          ++successes;
        } else if (created.error().code == ErrorCode::kConflict) {
          ++conflicts;
        }
      });
    }
  }
  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TEST_P(StoreContractTest, TheFirstImageBecomesTheDefault) {
  auto first = Db().Images().Put(MakeImage("alpine:latest-1", "alpine"), false);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->is_default);
  auto second = Db().Images().Put(MakeImage("ubuntu:latest-2", "ubuntu"), false);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->is_default);
}

TEST_P(StoreContractTest, MakeDefaultMakesTheImageTheOnlyDefault) {
  ASSERT_TRUE(Db().Images().Put(MakeImage("alpine:latest-1", "alpine"), false).has_value());
  auto second = Db().Images().Put(MakeImage("ubuntu:latest-2", "ubuntu"), true);
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(second->is_default);
  auto images = Db().Images().List();
  ASSERT_TRUE(images.has_value());
  ASSERT_EQ(images->size(), 2u);
  EXPECT_EQ(std::count_if(images->begin(), images->end(),
                          [](const core::Image& image) { return image.is_default; }),
            1);
  auto first = Db().Images().Get("alpine:latest-1");
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_FALSE((*first)->is_default);
}

TEST_P(StoreContractTest, PutOfAnExistingImageKeepsTheStoredRecord) {
  ASSERT_TRUE(Db().Images().Put(MakeImage("alpine:latest-1", "alpine"), false).has_value());
  ASSERT_TRUE(Db().Images().Put(MakeImage("ubuntu:latest-2", "ubuntu"), false).has_value());
  core::Image changed = MakeImage("ubuntu:latest-2", "ubuntu");
  changed.cpu = 4096;
  changed.owned_by = {"someone@example.com"};
  auto stored = Db().Images().Put(changed, false);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->cpu, 512);
  EXPECT_EQ(stored->owned_by, (std::vector<std::string>{"admin@example.com", "dev@example.com"}));
  EXPECT_FALSE(stored->is_default);
  auto made_default = Db().Images().Put(changed, true);
  ASSERT_TRUE(made_default.has_value());
  EXPECT_TRUE(made_default->is_default);
  EXPECT_EQ(made_default->cpu, 512);
  auto first = Db().Images().Get("alpine:latest-1");
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_FALSE((*first)->is_default);
}

TEST_P(StoreContractTest, ImageRoundTripsEveryFieldAndKeepsOwnerOrder) {
  core::Image image = MakeImage("reg/app:v1-3", "reg.example.com/app:v1");
  image.runtime_platform = "Linux/ARM64";
  image.image_registry = "reg.example.com";
  image.image_digest = "sha256:abc";
  image.task_role_name = "role";
  image.task_execution_role_name = "exec-role";
  image.owned_by = {"z@example.com", "a@example.com", "m@example.com"};
  ASSERT_TRUE(Db().Images().Put(image, false).has_value());
  auto got = Db().Images().Get(image.image_id);
  ASSERT_TRUE(got.has_value() && got->has_value());
  const core::Image& stored = **got;
  EXPECT_EQ(stored.image, image.image);
  EXPECT_EQ(stored.cpu, 512);
  EXPECT_EQ(stored.memory, 1024);
  EXPECT_EQ(stored.runtime_platform, "Linux/ARM64");
  EXPECT_EQ(stored.image_registry, "reg.example.com");
  EXPECT_EQ(stored.image_name, image.image_name);
  EXPECT_EQ(stored.image_tag, "latest");
  EXPECT_EQ(stored.image_digest, "sha256:abc");
  EXPECT_EQ(stored.normalized, image.normalized);
  EXPECT_EQ(stored.task_role_name, "role");
  EXPECT_EQ(stored.task_execution_role_name, "exec-role");
  EXPECT_EQ(stored.created_by, "admin@example.com");
  EXPECT_EQ(stored.owned_by, image.owned_by);
  EXPECT_EQ(stored.created_at, T(2000));
  EXPECT_EQ(stored.created_by_request_id, "req-img");
  EXPECT_EQ(stored.modified_by_request_id, "req-img");
}

TEST_P(StoreContractTest, ImagesAreListedByReferenceThenId) {
  ASSERT_TRUE(Db().Images().Put(MakeImage("id-3", "ubuntu"), false).has_value());
  ASSERT_TRUE(Db().Images().Put(MakeImage("id-2", "alpine"), false).has_value());
  ASSERT_TRUE(Db().Images().Put(MakeImage("id-1", "ubuntu"), false).has_value());
  auto images = Db().Images().List();
  ASSERT_TRUE(images.has_value());
  std::vector<std::string> ids;
  for (const auto& image : *images) {
    ids.push_back(image.image_id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"id-2", "id-1", "id-3"}));
  EXPECT_EQ(images->front().owned_by.size(), 2u);
}

TEST_P(StoreContractTest, RemoveReturnsTheImageAndNoOtherBecomesDefault) {
  ASSERT_TRUE(Db().Images().Put(MakeImage("a", "alpine"), false).has_value());
  ASSERT_TRUE(Db().Images().Put(MakeImage("b", "busybox"), false).has_value());
  auto removed = Db().Images().Remove("a");
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed->image_id, "a");
  EXPECT_TRUE(removed->is_default);
  EXPECT_EQ(removed->owned_by.size(), 2u);
  auto gone = Db().Images().Get("a");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  auto other = Db().Images().Get("b");
  ASSERT_TRUE(other.has_value() && other->has_value());
  EXPECT_FALSE((*other)->is_default);
}

TEST_P(StoreContractTest, RemoveOfAnUnknownImageIsNotFound) {
  auto removed = Db().Images().Remove("nope");
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, AnImageRegisteredAgainAfterRemovalStartsFresh) {
  ASSERT_TRUE(Db().Images().Put(MakeImage("a", "alpine"), false).has_value());
  ASSERT_TRUE(Db().Images().Remove("a").has_value());
  core::Image again = MakeImage("a", "alpine");
  again.owned_by = {"new@example.com"};
  auto stored = Db().Images().Put(again, false);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->is_default);
  EXPECT_EQ(stored->owned_by, (std::vector<std::string>{"new@example.com"}));
}

TEST_P(StoreContractTest, ExecutionRoundTripsEveryField) {
  core::Execution e = MakeExecution("exec-1", 10000);
  e.owned_by = {"dev@example.com", "ops@example.com"};
  e.completed_at = T(15000);
  e.status = ExecutionStatus::kSucceeded;
  e.exit_code = 0;
  e.timings.started = T(10100);
  e.timings.first_output = T(10200);
  e.timings.finished = T(15000);
  ASSERT_TRUE(Db().Executions().Create(e).has_value());
  auto got = Db().Executions().Get("exec-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  const core::Execution& s = **got;
  EXPECT_EQ(s.execution_id, "exec-1");
  EXPECT_EQ(s.created_by, "dev@example.com");
  EXPECT_EQ(s.owned_by, e.owned_by);
  EXPECT_EQ(s.command, "echo hello");
  EXPECT_EQ(s.image_id, e.image_id);
  EXPECT_EQ(s.started_at, T(10000));
  EXPECT_EQ(s.completed_at, T(15000));
  EXPECT_EQ(s.status, ExecutionStatus::kSucceeded);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.log_stream_name, "runvoy/exec-1");
  EXPECT_EQ(s.created_by_request_id, "req-run");
  EXPECT_EQ(s.modified_by_request_id, "req-run");
  EXPECT_EQ(s.cloud, "local");
  EXPECT_EQ(s.node, "node-a");
  EXPECT_EQ(s.task_ref, "task-exec-1");
  EXPECT_EQ(s.timeout_seconds, 60);
  EXPECT_EQ(s.timings.accepted, T(10000));
  EXPECT_EQ(s.timings.started, T(10100));
  EXPECT_EQ(s.timings.first_output, T(10200));
  EXPECT_EQ(s.timings.finished, T(15000));
  EXPECT_EQ(s.request.env_keys, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(s.request.secrets, (std::vector<std::string>{"db-password"}));
  EXPECT_EQ(s.request.git_repo, "https://example.com/repo.git");
  EXPECT_EQ(s.request.git_ref, "main");
  EXPECT_EQ(s.request.git_path, "sub");
}

TEST_P(StoreContractTest, ExecutionWithoutOptionalFieldsKeepsThemEmpty) {
  core::Execution e = MakeExecution("exec-1", 10000);
  e.timings = {};
  e.request = {};
  ASSERT_TRUE(Db().Executions().Create(e).has_value());
  auto got = Db().Executions().Get("exec-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_FALSE((*got)->completed_at.has_value());
  EXPECT_FALSE((*got)->exit_code.has_value());
  EXPECT_FALSE((*got)->timings.accepted.has_value());
  EXPECT_FALSE((*got)->timings.finished.has_value());
  EXPECT_TRUE((*got)->request.env_keys.empty());
  EXPECT_TRUE((*got)->request.git_repo.empty());
}

TEST_P(StoreContractTest, UnknownExecutionIsAbsent) {
  auto got = Db().Executions().Get("nope");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->has_value());
}

TEST_P(StoreContractTest, CreateOfAnExistingExecutionIsConflictAndKeepsTheOriginal) {
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("exec-1", 10000)).has_value());
  core::Execution other = MakeExecution("exec-1", 20000, "other@example.com");
  other.command = "rm -rf /";
  auto created = Db().Executions().Create(other);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, ErrorCode::kConflict);
  auto got = Db().Executions().Get("exec-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->command, "echo hello");
  EXPECT_EQ((*got)->owned_by, (std::vector<std::string>{"dev@example.com"}));
}

TEST_P(StoreContractTest, UpdateWritesEveryMutableFieldWhenTheStatusIsAsExpected) {
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("exec-1", 10000)).has_value());
  core::Execution e = MakeExecution("exec-1", 10000);
  e.status = ExecutionStatus::kFailed;
  e.exit_code = 124;
  e.completed_at = T(70000);
  e.modified_by_request_id = "req-stop";
  e.task_ref = "task-new";
  e.timings.finished = T(70000);
  e.owned_by = {"dev@example.com", "ops@example.com"};
  auto updated = Db().Executions().Update(e, ExecutionStatus::kStarting);
  ASSERT_TRUE(updated.has_value());
  EXPECT_TRUE(*updated);
  auto got = Db().Executions().Get("exec-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->status, ExecutionStatus::kFailed);
  EXPECT_EQ((*got)->exit_code, 124);
  EXPECT_EQ((*got)->completed_at, T(70000));
  EXPECT_EQ((*got)->modified_by_request_id, "req-stop");
  EXPECT_EQ((*got)->task_ref, "task-new");
  EXPECT_EQ((*got)->timings.finished, T(70000));
  EXPECT_EQ((*got)->owned_by, e.owned_by);
}

TEST_P(StoreContractTest, UpdateWritesNothingWhenTheStatusMoved) {
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("exec-1", 10000)).has_value());
  core::Execution e = MakeExecution("exec-1", 10000);
  e.status = ExecutionStatus::kSucceeded;
  e.exit_code = 0;
  e.owned_by = {"x@example.com"};
  auto updated = Db().Executions().Update(e, ExecutionStatus::kRunning);
  ASSERT_TRUE(updated.has_value());
  EXPECT_FALSE(*updated);
  auto got = Db().Executions().Get("exec-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->status, ExecutionStatus::kStarting);
  EXPECT_FALSE((*got)->exit_code.has_value());
  EXPECT_EQ((*got)->owned_by, (std::vector<std::string>{"dev@example.com"}));
}

TEST_P(StoreContractTest, UpdateOfAMissingExecutionIsNotFound) {
  auto updated = Db().Executions().Update(MakeExecution("nope", 1000), ExecutionStatus::kStarting);
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ChangeNodeMovesAnExecutionOnlyFromTheNodeNamed) {
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("e", 1000)).has_value());
  auto taken = Db().Executions().ChangeNode("e", "node-a", "node-b");
  ASSERT_TRUE(taken.has_value()) << taken.error().message;
  EXPECT_TRUE(*taken);
  auto late = Db().Executions().ChangeNode("e", "node-a", "node-c");
  ASSERT_TRUE(late.has_value());
  EXPECT_FALSE(*late);
  auto stored = Db().Executions().Get("e");
  ASSERT_TRUE(stored.has_value() && stored->has_value());
  EXPECT_EQ((*stored)->node, "node-b");
  EXPECT_EQ((*stored)->status, ExecutionStatus::kStarting);
}

TEST_P(StoreContractTest, ChangeNodeOfAMissingExecutionIsNotFound) {
  auto changed = Db().Executions().ChangeNode("nope", "node-a", "node-b");
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContractTest, ListIsNewestFirstWithTheIdBreakingTies) {
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("b", 2000)).has_value());
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("a", 3000)).has_value());
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("c", 2000)).has_value());
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("d", 1000)).has_value());
  ExecutionFilter all;
  all.limit = 0;
  EXPECT_EQ(ListIds(all), (std::vector<std::string>{"a", "c", "b", "d"}));
}

TEST_P(StoreContractTest, ListStopsAtTheLimit) {
  for (int i = 0; i < 15; ++i) {
    ASSERT_TRUE(Db().Executions()
                    .Create(MakeExecution("e" + std::to_string(100 + i), 1000 + i))
                    .has_value());
  }
  ExecutionFilter defaults;
  EXPECT_EQ(ListIds(defaults).size(), 10u);
  ExecutionFilter three;
  three.limit = 3;
  EXPECT_EQ(ListIds(three), (std::vector<std::string>{"e114", "e113", "e112"}));
  ExecutionFilter all;
  all.limit = 0;
  EXPECT_EQ(ListIds(all).size(), 15u);
}

TEST_P(StoreContractTest, ListFiltersByStatusCreatorAndNode) {
  core::Execution running = MakeExecution("running", 1000, "a@example.com");
  running.status = ExecutionStatus::kRunning;
  core::Execution failed = MakeExecution("failed", 2000, "b@example.com");
  failed.status = ExecutionStatus::kFailed;
  failed.node = "node-b";
  core::Execution starting = MakeExecution("starting", 3000, "a@example.com");
  for (const auto& e : {running, failed, starting}) {
    ASSERT_TRUE(Db().Executions().Create(e).has_value());
  }
  ExecutionFilter by_status;
  by_status.limit = 0;
  by_status.statuses = {ExecutionStatus::kRunning, ExecutionStatus::kFailed};
  EXPECT_EQ(ListIds(by_status), (std::vector<std::string>{"failed", "running"}));
  ExecutionFilter by_creator;
  by_creator.limit = 0;
  by_creator.created_by = "a@example.com";
  EXPECT_EQ(ListIds(by_creator), (std::vector<std::string>{"starting", "running"}));
  ExecutionFilter by_node;
  by_node.limit = 0;
  by_node.node = "node-b";
  EXPECT_EQ(ListIds(by_node), (std::vector<std::string>{"failed"}));
  ExecutionFilter combined;
  combined.limit = 0;
  combined.created_by = "a@example.com";
  combined.statuses = {ExecutionStatus::kStarting};
  EXPECT_EQ(ListIds(combined), (std::vector<std::string>{"starting"}));
}

TEST_P(StoreContractTest, ListBeforeReturnsOnlyOlderExecutionsSoPagesDoNotOverlap) {
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("b", 2000)).has_value());
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("a", 3000)).has_value());
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("c", 2000)).has_value());
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("d", 1000)).has_value());
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("e", 1000)).has_value());
  std::vector<std::string> pages;
  ExecutionFilter page;
  page.limit = 2;
  for (int i = 0; i < 5; ++i) {
    auto ids = ListIds(page);
    if (ids.empty()) {
      break;
    }
    pages.insert(pages.end(), ids.begin(), ids.end());
    page.before = ids.back();
  }
  EXPECT_EQ(pages, (std::vector<std::string>{"a", "c", "b", "e", "d"}));
  ExecutionFilter before_c;
  before_c.limit = 0;
  before_c.before = "c";
  EXPECT_EQ(ListIds(before_c), (std::vector<std::string>{"b", "e", "d"}));
}

TEST_P(StoreContractTest, ListStopsWhenTheVisitorSaysSo) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        Db().Executions().Create(MakeExecution("e" + std::to_string(i), 1000 + i)).has_value());
  }
  ExecutionFilter all;
  all.limit = 0;
  int visits = 0;
  auto listed = Db().Executions().List(all, [&](const core::Execution&) {
    ++visits;
    return visits < 2;
  });
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(visits, 2);
}

TEST_P(StoreContractTest, ListedExecutionsCarryTheirOwners) {
  core::Execution e = MakeExecution("e", 1000);
  e.owned_by = {"dev@example.com", "x@example.com"};
  ASSERT_TRUE(Db().Executions().Create(e).has_value());
  ExecutionFilter all;
  std::vector<std::string> owners;
  ASSERT_TRUE(Db().Executions()
                  .List(all,
                        [&](const core::Execution& listed) {
                          owners = listed.owned_by;
                          return true;
                        })
                  .has_value());
  EXPECT_EQ(owners, e.owned_by);
}

TEST_P(StoreContractTest, AVisitorMayWriteToTheStoreWhileListing) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        Db().Executions().Create(MakeExecution("e" + std::to_string(i), 1000 + i)).has_value());
  }
  ExecutionFilter starting;
  starting.limit = 0;
  starting.statuses = {ExecutionStatus::kStarting};
  int visits = 0;
  auto listed = Db().Executions().List(starting, [&](const core::Execution& e) {
    ++visits;
    core::Execution changed = e;
    changed.status = ExecutionStatus::kRunning;
    auto updated = Db().Executions().Update(changed, ExecutionStatus::kStarting);
    EXPECT_TRUE(updated.has_value() && *updated);
    EXPECT_TRUE(Db().Logs().Append(e.execution_id, {Event(1, "x")}).has_value());
    return true;
  });
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(visits, 3);
  ExecutionFilter running;
  running.limit = 0;
  running.statuses = {ExecutionStatus::kRunning};
  EXPECT_EQ(ListIds(running).size(), 3u);
}

TEST_P(StoreContractTest, ConcurrentCreatesAndConditionalUpdatesAreAllApplied) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
          core::Execution e = MakeExecution(id, 1000 + i);
          if (!Db().Executions().Create(e)) {
            ++failures;
          }
          e.status = ExecutionStatus::kRunning;
          auto updated = Db().Executions().Update(e, ExecutionStatus::kStarting);
          if (!updated || !*updated) {
            ++failures;
          }
        }
      });
    }
  }
  EXPECT_EQ(failures.load(), 0);
  ExecutionFilter running;
  running.limit = 0;
  running.statuses = {ExecutionStatus::kRunning};
  EXPECT_EQ(ListIds(running).size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST_P(StoreContractTest, ConcurrentConditionalUpdatesOfOneExecutionLetOneWin) {
  ASSERT_TRUE(Db().Executions().Create(MakeExecution("e", 1000)).has_value());
  constexpr int kThreads = 8;
  std::atomic<int> wins{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        core::Execution e = MakeExecution("e", 1000);
        e.status = ExecutionStatus::kRunning;
        auto updated = Db().Executions().Update(e, ExecutionStatus::kStarting);
        if (updated && *updated) {
          ++wins;
        }
      });
    }
  }
  EXPECT_EQ(wins.load(), 1);
}

TEST_P(StoreContractTest, AppendedEventsAreReadBackInOrder) {
  ASSERT_TRUE(Db().Logs()
                  .Append("e", {Event(1, "one"), Event(2, "two", core::LogStream::kStderr),
                                Event(3, "three", core::LogStream::kRunvoy)})
                  .has_value());
  core::LogEvent partial = Event(4, "par");
  partial.partial = true;
  ASSERT_TRUE(Db().Logs().Append("e", {partial}).has_value());
  auto events = ReadLogs("e");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(Sequences(events), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(events[0].message, "one");
  EXPECT_EQ(events[0].timestamp_ms, 1001);
  EXPECT_EQ(events[0].stream, core::LogStream::kStdout);
  EXPECT_EQ(events[1].stream, core::LogStream::kStderr);
  EXPECT_EQ(events[2].stream, core::LogStream::kRunvoy);
  EXPECT_FALSE(events[2].partial);
  EXPECT_TRUE(events[3].partial);
}

TEST_P(StoreContractTest, AppendSkipsSequencesThatAreStoredAlready) {
  ASSERT_TRUE(Db().Logs().Append("e", {Event(1, "one"), Event(2, "two")}).has_value());
  ASSERT_TRUE(Db().Logs().Append("e", {Event(2, "two again"), Event(3, "three")}).has_value());
  auto events = ReadLogs("e");
  ASSERT_EQ(Sequences(events), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(events[1].message, "two");
}

TEST_P(StoreContractTest, ReadStartsAfterTheGivenSequenceAndHonoursTheLimit) {
  std::vector<core::LogEvent> batch;
  for (int i = 1; i <= 10; ++i) {
    batch.push_back(Event(i, "line " + std::to_string(i)));
  }
  ASSERT_TRUE(Db().Logs().Append("e", batch).has_value());
  EXPECT_EQ(Sequences(ReadLogs("e", 7)), (std::vector<int64_t>{8, 9, 10}));
  EXPECT_EQ(Sequences(ReadLogs("e", 2, 3)), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_TRUE(ReadLogs("e", 10).empty());
  int visits = 0;
  ASSERT_TRUE(Db().Logs()
                  .Read("e", 0, 0,
                        [&](const core::LogEvent&) {
                          ++visits;
                          return visits < 4;
                        })
                  .has_value());
  EXPECT_EQ(visits, 4);
}

TEST_P(StoreContractTest, LogsOfExecutionsAreKeptApart) {
  ASSERT_TRUE(Db().Logs().Append("a", {Event(1, "a1"), Event(2, "a2")}).has_value());
  ASSERT_TRUE(Db().Logs().Append("b", {Event(1, "b1")}).has_value());
  auto a = ReadLogs("a");
  auto b = ReadLogs("b");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].message, "b1");
  EXPECT_EQ(*Db().Logs().LastSequence("a"), 2);
  EXPECT_EQ(*Db().Logs().LastSequence("b"), 1);
}

TEST_P(StoreContractTest, LastSequenceIsZeroWithoutEvents) {
  auto last = Db().Logs().LastSequence("none");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 0);
}

TEST_P(StoreContractTest, MessagesKeepEveryByte) {
  const std::string message = std::string("tab\there \xC3\xA9t\xC3\xA9 ") + "quote' \"dq\"";
  ASSERT_TRUE(Db().Logs().Append("e", {Event(1, message), Event(2, "")}).has_value());
  auto events = ReadLogs("e");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].message, message);
  EXPECT_EQ(events[1].message, "");
}

TEST_P(StoreContractTest, ConcurrentOverlappingAppendsStoreEachSequenceOnce) {
  constexpr int kThreads = 4;
  constexpr int kEvents = 200;
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        // Every thread re-delivers the same events in batches of different sizes.
        const int batch_size = 3 + t * 7;
        for (int start = 1; start <= kEvents; start += batch_size) {
          std::vector<core::LogEvent> batch;
          for (int s = start; s < start + batch_size && s <= kEvents; ++s) {
            batch.push_back(Event(s, "line " + std::to_string(s)));
          }
          EXPECT_TRUE(Db().Logs().Append("e", batch).has_value());
        }
      });
    }
  }
  auto events = ReadLogs("e");
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_EQ(events[i].sequence, i + 1);
    EXPECT_EQ(events[i].message, "line " + std::to_string(i + 1));
  }
  EXPECT_EQ(*Db().Logs().LastSequence("e"), kEvents);
}

TEST_P(StoreContractTest, WebSocketTokensAreStoredByHash) {
  ASSERT_TRUE(
      Db().WebSocketTokens().Put({"ws-hash", "exec-1", "dev@example.com", T(60000)}).has_value());
  auto token = Db().WebSocketTokens().Get("ws-hash");
  ASSERT_TRUE(token.has_value() && token->has_value());
  EXPECT_EQ((*token)->execution_id, "exec-1");
  EXPECT_EQ((*token)->email, "dev@example.com");
  EXPECT_EQ((*token)->expires_at, T(60000));
  auto unknown = Db().WebSocketTokens().Get("other");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(StoreContractTest, AuditEntriesRoundTripAndLastIsTheNewestOfItsNode) {
  ASSERT_TRUE(Db().Audit().Append({Audit("n1", 1)}).has_value());
  ASSERT_TRUE(Db().Audit().Append({Audit("n1", 2)}).has_value());
  ASSERT_TRUE(Db().Audit().Append({Audit("n2", 1)}).has_value());
  auto last = Db().Audit().Last("n1");
  ASSERT_TRUE(last.has_value() && last->has_value());
  const core::AuditEntry& e = **last;
  const core::AuditEntry want = Audit("n1", 2);
  EXPECT_EQ(e.seq, 2);
  EXPECT_EQ(e.time, want.time);
  EXPECT_EQ(e.node, "n1");
  EXPECT_EQ(e.request_id, want.request_id);
  EXPECT_EQ(e.client_request_id, want.client_request_id);
  EXPECT_EQ(e.user, want.user);
  EXPECT_EQ(e.role, want.role);
  EXPECT_EQ(e.method, want.method);
  EXPECT_EQ(e.path, want.path);
  EXPECT_EQ(e.status, 202);
  EXPECT_EQ(e.client_ip, want.client_ip);
  EXPECT_EQ(e.resource, want.resource);
  EXPECT_EQ(e.detail, want.detail);
  EXPECT_EQ(e.prev_hash, want.prev_hash);
  EXPECT_EQ(e.hash, want.hash);
  auto none = Db().Audit().Last("n3");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreContractTest, AuditAppendOfATakenSequenceIsConflictAndKeepsTheFirst) {
  ASSERT_TRUE(Db().Audit().Append({Audit("n1", 1)}).has_value());
  core::AuditEntry rival = Audit("n1", 1);
  rival.hash = "rival";
  auto appended = Db().Audit().Append({rival});
  ASSERT_FALSE(appended.has_value());
  EXPECT_EQ(appended.error().code, ErrorCode::kConflict);
  auto last = Db().Audit().Last("n1");
  ASSERT_TRUE(last.has_value() && last->has_value());
  EXPECT_EQ((*last)->hash, "hash1");
}

TEST_P(StoreContractTest, AuditAppendOfABatchWritesAllInOrderOrNothing) {
  ASSERT_TRUE(Db().Audit().Append({Audit("n1", 1), Audit("n1", 2), Audit("n1", 3)}).has_value());
  auto overlapping = Db().Audit().Append({Audit("n1", 4), Audit("n1", 3), Audit("n1", 5)});
  ASSERT_FALSE(overlapping.has_value());
  EXPECT_EQ(overlapping.error().code, ErrorCode::kConflict);
  std::vector<int64_t> seqs;
  ASSERT_TRUE(Db().Audit()
                  .List(0, 100,
                        [&](int64_t, const core::AuditEntry& entry) {
                          seqs.push_back(entry.seq);
                          return true;
                        })
                  .has_value());
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3}));  // neither 4 nor 5 of the refused batch
}

TEST_P(StoreContractTest, AuditListPagesByPosition) {
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(Db().Audit().Append({Audit("n1", i)}).has_value());
  }
  std::vector<int64_t> seqs;
  int64_t after = 0;
  for (;;) {
    std::size_t seen = 0;
    ASSERT_TRUE(Db().Audit()
                    .List(after, 2,
                          [&](int64_t position, const core::AuditEntry& entry) {
                            EXPECT_GT(position, after);
                            after = position;
                            seqs.push_back(entry.seq);
                            ++seen;
                            return true;
                          })
                    .has_value());
    if (seen == 0) {
      break;
    }
  }
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  int visits = 0;
  ASSERT_TRUE(Db().Audit()
                  .List(0, 0,
                        [&](int64_t, const core::AuditEntry&) {
                          ++visits;
                          return false;
                        })
                  .has_value());
  EXPECT_EQ(visits, 1);
}

TEST_P(StoreContractTest, IdempotencyRecordsAreKeptPerUserAndKey) {
  core::IdempotencyRecord record{"dev@example.com", "key-1", "exec-1", T(5000)};
  ASSERT_TRUE(Db().Idempotency().Put(record).has_value());
  auto got = Db().Idempotency().Get("dev@example.com", "key-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->execution_id, "exec-1");
  EXPECT_EQ((*got)->created_at, T(5000));
  auto other_user = Db().Idempotency().Get("ops@example.com", "key-1");
  ASSERT_TRUE(other_user.has_value());
  EXPECT_FALSE(other_user->has_value());
}

TEST_P(StoreContractTest, IdempotencyPutOfATakenKeyIsConflictAndKeepsTheFirst) {
  ASSERT_TRUE(Db().Idempotency().Put({"dev@example.com", "key-1", "exec-1", T(5000)}).has_value());
  auto put = Db().Idempotency().Put({"dev@example.com", "key-1", "exec-2", T(6000)});
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().code, ErrorCode::kConflict);
  auto got = Db().Idempotency().Get("dev@example.com", "key-1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->execution_id, "exec-1");
  EXPECT_TRUE(Db().Idempotency().Put({"ops@example.com", "key-1", "exec-3", T(6000)}).has_value());
}

TEST_P(StoreContractTest, SecretRoundTripsEveryFieldAndKeepsOwnerOrder) {
  ASSERT_TRUE(Db().Secrets().Create(MakeSecret("db")).has_value());
  auto got = Db().Secrets().Get("db");
  ASSERT_TRUE(got.has_value() && got->has_value());
  const core::Secret want = MakeSecret("db");
  EXPECT_EQ((*got)->key_name, want.key_name);
  EXPECT_EQ((*got)->description, want.description);
  EXPECT_EQ((*got)->created_by, want.created_by);
  EXPECT_EQ((*got)->owned_by, want.owned_by);
  EXPECT_EQ((*got)->created_at, want.created_at);
  EXPECT_EQ((*got)->updated_at, want.updated_at);
  EXPECT_EQ((*got)->updated_by, want.updated_by);
  EXPECT_EQ((*got)->created_by_request_id, want.created_by_request_id);
  EXPECT_EQ((*got)->modified_by_request_id, want.modified_by_request_id);
  auto unknown = Db().Secrets().Get("nope");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(StoreContractTest, CreateOfAnExistingSecretIsAlreadyExistsAndChangesNothing) {
  ASSERT_TRUE(Db().Secrets().Create(MakeSecret("db")).has_value());
  core::Secret again = MakeSecret("db");
  again.description = "overwritten";
  again.owned_by = {"evil@example.com"};
  auto created = Db().Secrets().Create(again);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, ErrorCode::kSecretAlreadyExists);
  auto got = Db().Secrets().Get("db");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->description, "the db");
  EXPECT_EQ((*got)->owned_by, MakeSecret("db").owned_by);
}

TEST_P(StoreContractTest, SecretsAreListedByName) {
  for (const char* name : {"zeta", "alpha", "mid"}) {
    ASSERT_TRUE(Db().Secrets().Create(MakeSecret(name)).has_value());
  }
  auto secrets = Db().Secrets().List();
  ASSERT_TRUE(secrets.has_value());
  std::vector<std::string> names;
  for (const auto& secret : *secrets) {
    names.push_back(secret.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_EQ(secrets->front().owned_by, MakeSecret("alpha").owned_by);
}

TEST_P(StoreContractTest, UpdateChangesTheSecretsMetadata) {
  ASSERT_TRUE(Db().Secrets().Create(MakeSecret("db")).has_value());
  core::Secret changed = MakeSecret("db");
  changed.key_name = "NEW_KEY";
  changed.description = "new";
  changed.updated_at = T(9000);
  changed.updated_by = "ops@example.com";
  changed.modified_by_request_id = "req-update";
  changed.owned_by = {"dev@example.com"};
  ASSERT_TRUE(Db().Secrets().Update(changed).has_value());
  auto got = Db().Secrets().Get("db");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->key_name, "NEW_KEY");
  EXPECT_EQ((*got)->description, "new");
  EXPECT_EQ((*got)->updated_at, T(9000));
  EXPECT_EQ((*got)->updated_by, "ops@example.com");
  EXPECT_EQ((*got)->modified_by_request_id, "req-update");
  EXPECT_EQ((*got)->owned_by, (std::vector<std::string>{"dev@example.com"}));
  EXPECT_EQ((*got)->created_at, T(3000));
}

TEST_P(StoreContractTest, UpdateOfAMissingSecretIsSecretNotFound) {
  auto updated = Db().Secrets().Update(MakeSecret("nope"));
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error().code, ErrorCode::kSecretNotFound);
  auto got = Db().Secrets().Get("nope");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->has_value());
}

TEST_P(StoreContractTest, RemoveDeletesTheSecret) {
  ASSERT_TRUE(Db().Secrets().Create(MakeSecret("db")).has_value());
  ASSERT_TRUE(Db().Secrets().Remove("db").has_value());
  auto got = Db().Secrets().Get("db");
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->has_value());
  core::Secret again = MakeSecret("db");
  again.owned_by = {"new@example.com"};
  ASSERT_TRUE(Db().Secrets().Create(again).has_value());
  auto recreated = Db().Secrets().Get("db");
  ASSERT_TRUE(recreated.has_value() && recreated->has_value());
  EXPECT_EQ((*recreated)->owned_by, (std::vector<std::string>{"new@example.com"}));
}

TEST_P(StoreContractTest, RemoveOfAMissingSecretIsSecretNotFound) {
  auto removed = Db().Secrets().Remove("nope");
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, ErrorCode::kSecretNotFound);
}

TEST_P(StoreContractTest, ConcurrentCreatesOfOneSecretSucceedExactlyOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> successes{0};
  std::atomic<int> duplicates{0};
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        auto created = Db().Secrets().Create(MakeSecret("db"));
        if (created) {
          ++successes;
        } else if (created.error().code == ErrorCode::kSecretAlreadyExists) {
          ++duplicates;
        }
      });
    }
  }
  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(duplicates.load(), kThreads - 1);
}

TEST_P(StoreContractTest, BlobsKeepEveryByteAndCanBeReplacedAndRemoved) {
  const std::string binary("\x00\x01\xFFzero\x00end", 10);
  ASSERT_TRUE(Db().Blobs().Put("b", binary).has_value());
  ASSERT_TRUE(Db().Blobs().Put("a", "first").has_value());
  auto got = Db().Blobs().Get("b");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(**got, binary);
  ASSERT_TRUE(Db().Blobs().Put("a", "second").has_value());
  auto replaced = Db().Blobs().Get("a");
  ASSERT_TRUE(replaced.has_value() && replaced->has_value());
  EXPECT_EQ(**replaced, "second");
  auto names = Db().Blobs().Names();
  ASSERT_TRUE(names.has_value());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(Db().Blobs().Remove("a").has_value());
  auto gone = Db().Blobs().Get("a");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(Db().Blobs().Remove("a").has_value());
  EXPECT_EQ(*Db().Blobs().Names(), (std::vector<std::string>{"b"}));
}

TEST_P(StoreContractTest, AnEmptyBlobIsStillABlob) {
  ASSERT_TRUE(Db().Blobs().Put("empty", "").has_value());
  auto got = Db().Blobs().Get("empty");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(**got, "");
}

TEST_P(StoreContractTest, SettingsAreReadBackAndOverwritten) {
  auto missing = Db().Settings().Get("k");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE(Db().Settings().Put("k", "v1").has_value());
  ASSERT_TRUE(Db().Settings().Put("k", "v2").has_value());
  auto got = Db().Settings().Get("k");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(**got, "v2");
}

std::string FactoryName(const ::testing::TestParamInfo<NamedStoreFactory>& param) {
  return param.param.name;
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest, ::testing::ValuesIn(Factories()), FactoryName);

}  // namespace
}  // namespace runvoy::contract
