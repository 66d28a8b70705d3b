#pragma once

#include "core/error.h"
#include "server/http_message.h"

namespace runvoy::server {

// The HTTP status of each error code (SPEC.md §1).
int HttpStatusOf(core::ErrorCode code);

// {"error", "code", "details"?} with the matching status and a JSON content type.
HttpResponse ErrorResponse(const core::Error& error);
std::string ErrorBody(const core::Error& error);

}  // namespace runvoy::server
