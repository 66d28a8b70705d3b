#pragma once

#include <type_traits>

#include <boost/json.hpp>

#include "core/error.h"
#include "server/error_response.h"
#include "server/http_message.h"

namespace runvoy::server {

HttpResponse JsonResponse(int status, const boost::json::value& body);
HttpResponse NoContent();

// The success response of `result`, made by `make`, or the error response.
template <typename T, typename Make>
HttpResponse Respond(const core::Result<T>& result, Make&& make) {
  if (!result) return ErrorResponse(result.error());
  if constexpr (std::is_void_v<T>) {
    return make();
  } else {
    return make(*result);
  }
}

}  // namespace runvoy::server
