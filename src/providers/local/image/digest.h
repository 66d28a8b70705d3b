#pragma once

// SHA-256 digests of the OCI kind ("sha256:<64 hex>"), computed while data streams through.

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace runvoy::providers::local::image {

// Accumulates bytes; Finish() answers "sha256:<hex>". Not copyable.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view bytes);
  std::string Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// "sha256:<hex>" of `bytes`.
std::string DigestOf(std::string_view bytes);

// "sha256:<hex>" of the file at `path`; kInternal when it cannot be read.
core::Result<std::string> DigestOfFile(const std::string& path);

// The hex part of a "sha256:<64 lowercase hex>" digest; kInvalidRequest for anything else
// (other algorithms, wrong length), so that a digest is always safe as a file name.
core::Result<std::string> DigestHex(std::string_view digest);

}  // namespace runvoy::providers::local::image
