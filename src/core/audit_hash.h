#pragma once

#include <string>

#include "core/records.h"

namespace runvoy::core {

// The hash that chains an audit entry to its predecessor: hex SHA-256 over every field but
// `hash` itself (prev_hash included), each length-prefixed so no two entries share an input.
// The server computes it on append; `runvoy audit verify` recomputes it.
std::string AuditEntryHash(const AuditEntry& entry);

}  // namespace runvoy::core
