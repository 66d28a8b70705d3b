#pragma once

#include <string_view>

namespace runvoy::server {

// docs/openapi.json as it was at build time.
std::string_view OpenApiDocument();

}  // namespace runvoy::server
