#pragma once

// The role × action × ownership rules of SPEC.md §2, as one table.

#include <string_view>

#include "core/role.h"

namespace runvoy::auth {

// Everything an authenticated caller can ask for. Public routes (health, claim, openapi,
// the viewer) need no action.
enum class Action {
  kReconcile,
  kRun,
  kListUsers,
  kCreateUser,
  kRevokeUser,
  kListImages,
  kRegisterImage,
  kImportImage,
  kShowImage,
  kRemoveImage,
  kListSecrets,
  kCreateSecret,
  kReadSecret,
  kUpdateSecret,
  kDeleteSecret,
  kUseSecret,
  kListExecutions,
  kReadExecution,
  kKillExecution,
  kTrace,
  kAudit,
  kMetrics,
};

// What a role may do with an action: nothing, only on what it owns, or everything.
enum class Scope { kNone, kOwn, kAll };

// The table. Ownership extends a role's rights to its own resources, except that a viewer can
// never start or kill anything (SPEC.md §2.0).
Scope ScopeOf(core::Role role, Action action);

// Whether `role` may perform `action` on a resource it does (or does not) own.
bool Allows(core::Role role, Action action, bool is_owner);

std::string_view ActionName(Action action);

}  // namespace runvoy::auth
