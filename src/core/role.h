#pragma once

#include <optional>
#include <string_view>

namespace runvoy::core {

enum class Role { kAdmin, kOperator, kDeveloper, kViewer };

std::string_view RoleName(Role role);  // "admin", ...
std::optional<Role> ParseRole(std::string_view name);

}  // namespace runvoy::core
