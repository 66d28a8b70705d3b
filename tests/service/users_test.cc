// The users use cases over a real SQLite store, with a clock the test controls.

#include "service/users.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "common/random_ids.h"
#include "providers/sqlite/sqlite_store.h"

namespace runvoy::service {
namespace {

class ManualClock final : public core::Clock {
 public:
  core::TimePoint Now() const override { return now_; }
  void Advance(std::chrono::milliseconds by) { now_ += by; }

 private:
  core::TimePoint now_ = core::FromUnixMillis(1764478601000);
};

class UsersServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    auto store = providers::sqlite::OpenSqliteStore(::testing::TempDir() + "/users-" +
                                                    std::to_string(::getpid()) + "-" +
                                                    std::to_string(++counter) + ".db");
    ASSERT_TRUE(store);
    store_ = std::move(*store);
    users_ = std::make_unique<Users>(*store_, clock_, ids_);
  }
  Caller Admin() const { return {"admin@example.com", core::Role::kAdmin, "req-1"}; }

  ManualClock clock_;
  common::RandomIdGenerator ids_;
  std::unique_ptr<contract::Store> store_;
  std::unique_ptr<Users> users_;
};

TEST_F(UsersServiceTest, AnUnclaimedUserExpiresAfterFifteenMinutesAndMayBeCreatedAgain) {
  auto first = users_->Create(Admin(), "late@example.com", "developer", std::nullopt);
  ASSERT_TRUE(first);
  EXPECT_EQ(users_->Create(Admin(), "late@example.com", "developer", std::nullopt).error().code,
            core::ErrorCode::kConflict);
  clock_.Advance(std::chrono::minutes(16));
  EXPECT_EQ(users_->Claim(first->claim_token, "req-2").error().code, core::ErrorCode::kNotFound);
  auto second = users_->Create(Admin(), "late@example.com", "viewer", std::nullopt);
  ASSERT_TRUE(second) << second.error().message;
  auto claimed = users_->Claim(second->claim_token, "req-3");
  ASSERT_TRUE(claimed);
  auto user = users_->Authenticate(claimed->api_key);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->role, core::Role::kViewer);
  EXPECT_EQ(user->modified_by_request_id, "req-3");
}

TEST_F(UsersServiceTest, AuthenticationTellsMissingUnknownAndRevokedKeysApart) {
  EXPECT_EQ(users_->Authenticate("").error().code, core::ErrorCode::kUnauthorized);
  EXPECT_EQ(users_->Authenticate("nope-nope-nope").error().code, core::ErrorCode::kInvalidApiKey);
  auto created = users_->Create(Admin(), "r@example.com", "developer", std::nullopt);
  auto claimed = users_->Claim(created->claim_token, "req");
  ASSERT_TRUE(users_->Revoke(Admin(), "r@example.com"));
  EXPECT_EQ(users_->Authenticate(claimed->api_key).error().code, core::ErrorCode::kApiKeyRevoked);
}

TEST_F(UsersServiceTest, APendingUserWithAChosenKeyCannotAuthenticateBeforeTheClaim) {
  const std::string key = "chosen-key-chosen-key-1";
  auto created = users_->Create(Admin(), "c@example.com", "developer", key);
  ASSERT_TRUE(created);
  EXPECT_EQ(users_->Authenticate(key).error().code, core::ErrorCode::kInvalidApiKey);
  auto claimed = users_->Claim(created->claim_token, "req");
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->api_key, key);
  EXPECT_TRUE(users_->Authenticate(key));
}

TEST_F(UsersServiceTest, SeedingCreatesTheAdminOnceAndReportsAGeneratedKeyOnce) {
  auto seeded = users_->SeedAdmin("boss@example.com", std::nullopt);
  ASSERT_TRUE(seeded);
  ASSERT_TRUE(*seeded);
  EXPECT_TRUE(users_->Authenticate(**seeded));
  auto again = users_->SeedAdmin("boss@example.com", std::nullopt);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

}  // namespace
}  // namespace runvoy::service
