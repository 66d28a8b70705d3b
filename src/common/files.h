#pragma once

// Whole-file reads and crash-safe whole-file writes.

#include <string>
#include <string_view>

#include "core/error.h"

namespace runvoy::common {

// Writes `content` to `path` through a temporary file beside it and a rename, so a reader sees
// the old content or the new, never a part. With `sync`, the file is fsynced before the rename
// (durable across a machine crash, not only a process crash). Errors: kInternal.
core::Result<void> WriteFileAtomically(const std::string& path, std::string_view content,
                                       bool sync = true);

// Errors: kNotFound (no such file), kInternal.
core::Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace runvoy::common
