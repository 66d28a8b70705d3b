#include "auth/policy.h"

#include <array>

namespace runvoy::auth {
namespace {

using core::Role;

struct Rule {
  Action action;
  std::string_view name;
  // Indexed by role: admin, operator, developer, viewer.
  std::array<Scope, 4> scopes;
};

constexpr Scope A = Scope::kAll;
constexpr Scope O = Scope::kOwn;
constexpr Scope N = Scope::kNone;

//                                                      admin operator developer viewer
constexpr std::array<Rule, 22> kRules{{
    {Action::kReconcile, "reconcile", {A, A, N, N}},
    {Action::kRun, "run", {A, A, A, N}},
    {Action::kListUsers, "list users", {A, A, N, N}},
    {Action::kCreateUser, "create user", {A, N, N, N}},
    {Action::kRevokeUser, "revoke user", {A, N, N, N}},
    {Action::kListImages, "list images", {A, A, A, N}},
    {Action::kRegisterImage, "register image", {A, A, N, N}},
    {Action::kImportImage, "import image", {A, N, N, N}},
    {Action::kShowImage, "show image", {A, A, A, N}},
    {Action::kRemoveImage, "remove image", {A, A, O, N}},
    {Action::kListSecrets, "list secrets", {A, A, O, N}},
    {Action::kCreateSecret, "create secret", {A, A, A, N}},
    {Action::kReadSecret, "read secret", {A, A, O, N}},
    {Action::kUpdateSecret, "update secret", {A, A, O, N}},
    {Action::kDeleteSecret, "delete secret", {A, A, O, N}},
    {Action::kUseSecret, "use secret", {A, A, O, N}},
    {Action::kListExecutions, "list executions", {A, A, O, A}},
    {Action::kReadExecution, "read execution", {A, A, O, A}},
    {Action::kKillExecution, "kill execution", {A, A, O, N}},
    {Action::kTrace, "trace", {A, N, N, N}},
    {Action::kAudit, "audit", {A, N, N, N}},
    {Action::kMetrics, "metrics", {A, N, N, N}},
}};

std::size_t RoleIndex(Role role) {
  switch (role) {
    case Role::kAdmin: return 0;
    case Role::kOperator: return 1;
    case Role::kDeveloper: return 2;
    case Role::kViewer: return 3;
  }
  return 3;
}

const Rule& RuleOf(Action action) {
  for (const Rule& rule : kRules) {
    if (rule.action == action) return rule;
  }
  return kRules.back();  // unreachable: every action has a row (checked by the policy test)
}

}  // namespace

Scope ScopeOf(Role role, Action action) { return RuleOf(action).scopes[RoleIndex(role)]; }

bool Allows(Role role, Action action, bool is_owner) {
  switch (ScopeOf(role, action)) {
    case Scope::kAll: return true;
    case Scope::kOwn: return is_owner;
    case Scope::kNone: return false;
  }
  return false;
}

std::string_view ActionName(Action action) { return RuleOf(action).name; }

}  // namespace runvoy::auth
