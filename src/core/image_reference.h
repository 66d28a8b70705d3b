#pragma once

// Image references and IDs of SPEC.md §2.5.

#include <string>
#include <string_view>

#include "core/error.h"
#include "core/records.h"

namespace runvoy::core {

// Parses "[registry/]path[:tag][@sha256:hex]". The registry is the first "/"-segment when it has
// a "." or ":" or is "localhost"; the tag defaults to "latest". kInvalidRequest for malformed
// references (empty parts, "..", whitespace, bad digest, over 512 characters, also once
// normalised).
Result<ImageReference> ParseImageReference(std::string_view text);

// "<name>:<tag>-<h8>" where h8 = first 8 hex of SHA-256 over
// "<normalized>|<cpu>|<memory>|<platform>|<task_role>|<task_execution_role>".
std::string ComputeImageId(const ImageReference& reference, int cpu, int memory,
                           const std::string& runtime_platform, const std::string& task_role,
                           const std::string& task_execution_role);

// True when `text` has the shape of an image ID ("...-<8 hex>" after a tag).
bool LooksLikeImageId(std::string_view text);

}  // namespace runvoy::core
