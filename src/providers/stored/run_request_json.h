#pragma once

// How the stores keep an execution's request summary: one JSON text column, the same in every
// database.

#include <string>

#include "core/records.h"

namespace runvoy::providers::stored {

std::string RunRequestToJson(const core::RunRequestSummary& request);
// The column is written only by RunRequestToJson; anything unreadable yields an empty summary.
core::RunRequestSummary RunRequestFromJson(const std::string& text);

}  // namespace runvoy::providers::stored
