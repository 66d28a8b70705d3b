#include "auth/policy.h"

#include <set>
#include <string_view>

#include <gtest/gtest.h>

#include "auth/api_keys.h"

namespace runvoy::auth {
namespace {

using core::Role;

TEST(Policy, AViewerCanNeverStartOrKillAnythingEvenWhenItOwnsIt) {
  EXPECT_FALSE(Allows(Role::kViewer, Action::kRun, true));
  EXPECT_FALSE(Allows(Role::kViewer, Action::kKillExecution, true));
  EXPECT_TRUE(Allows(Role::kViewer, Action::kReadExecution, false));
}

TEST(Policy, DevelopersActOnlyOnWhatTheyOwn) {
  EXPECT_TRUE(Allows(Role::kDeveloper, Action::kReadExecution, true));
  EXPECT_FALSE(Allows(Role::kDeveloper, Action::kReadExecution, false));
  EXPECT_TRUE(Allows(Role::kDeveloper, Action::kUseSecret, true));
  EXPECT_FALSE(Allows(Role::kDeveloper, Action::kUseSecret, false));
  EXPECT_EQ(ScopeOf(Role::kDeveloper, Action::kListExecutions), Scope::kOwn);
  EXPECT_EQ(ScopeOf(Role::kDeveloper, Action::kListUsers), Scope::kNone);
}

TEST(Policy, OnlyAdminsManageUsersTraceAndAudit) {
  for (Action action : {Action::kCreateUser, Action::kRevokeUser, Action::kTrace, Action::kAudit}) {
    EXPECT_TRUE(Allows(Role::kAdmin, action, false));
    for (Role role : {Role::kOperator, Role::kDeveloper, Role::kViewer}) {
      EXPECT_FALSE(Allows(role, action, true)) << ActionName(action);
    }
  }
}

TEST(Policy, EveryActionHasItsOwnRow) {
  std::set<std::string_view> names;
  const int count = static_cast<int>(Action::kMetrics) + 1;
  for (int i = 0; i < count; ++i) names.insert(ActionName(static_cast<Action>(i)));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(count));
}

TEST(ApiKeys, ChosenKeysMustHaveTheDocumentedFormat) {
  EXPECT_TRUE(ValidateChosenKey("abcdefghijklmnopqrst"));
  EXPECT_TRUE(ValidateChosenKey("A-z_0.9~" + std::string(20, 'k')));
  EXPECT_FALSE(ValidateChosenKey("short"));
  EXPECT_FALSE(ValidateChosenKey(std::string(257, 'a')));
  EXPECT_FALSE(ValidateChosenKey("has a space in the middle"));
}

TEST(ApiKeys, ASealedKeyOpensOnlyWithItsClaimToken) {
  auto sealed = SealKeyForClaim("token-one", "the-chosen-api-key-123");
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->find("the-chosen-api-key-123"), std::string::npos);
  EXPECT_EQ(*OpenKeyWithClaim("token-one", *sealed), "the-chosen-api-key-123");
  EXPECT_FALSE(OpenKeyWithClaim("token-two", *sealed));
}

TEST(ApiKeys, KeysAreHashedWithSha256) {
  EXPECT_EQ(HashSecretToken("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace runvoy::auth
