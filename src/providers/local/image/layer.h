#pragma once

// Unpacking of image layers: a layer tarball (plain, gzip or zstd; libarchive finds out) is
// extracted into a directory usable as an overlayfs lower layer. OCI whiteouts become overlay
// whiteouts: ".wh.<name>" a character device 0/0 named <name>, ".wh..wh..opq" the
// trusted.overlay.opaque xattr on its directory. Needs root (devices, ownership, xattrs).

#include <cstdint>
#include <string>

#include "core/error.h"

namespace runvoy::providers::local::image {

// Extracts `tarball` into `dir` (created; must not exist). Answers the bytes of regular files
// written. Refuses entries escaping `dir` (absolute paths, "..", links through symlinks).
core::Result<int64_t> ExtractLayer(const std::string& tarball, const std::string& dir);

}  // namespace runvoy::providers::local::image
