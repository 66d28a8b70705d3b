#pragma once

#include <string>

#include "core/role.h"

namespace runvoy::service {

// Who is asking, and for which request: passed to every use case that acts for a user.
struct Caller {
  std::string email;
  core::Role role = core::Role::kViewer;
  std::string request_id;
};

// For use cases that need no user (claim, seeding) but still record the request.
struct RequestOrigin {
  std::string request_id;
};

}  // namespace runvoy::service
