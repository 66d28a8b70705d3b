#include "providers/local/image/digest.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "core/sha256.h"

namespace runvoy::providers::local::image {

struct Sha256Stream::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() {
  EVP_MD_CTX_free(state_->ctx);
}

void Sha256Stream::Update(std::string_view bytes) {
  EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Sha256Stream::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(state_->ctx, out, &size);
  return "sha256:" + core::HexEncode(std::string_view(reinterpret_cast<const char*>(out), size));
}

std::string DigestOf(std::string_view bytes) {
  return "sha256:" + core::Sha256Hex(bytes);
}

core::Result<std::string> DigestOfFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::Fail(core::ErrorCode::kInternal, "cannot read " + path, std::strerror(errno));
  }
  Sha256Stream sha;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return core::Fail(core::ErrorCode::kInternal, "cannot read " + path, std::strerror(err));
    }
    if (n == 0)
      break;
    sha.Update(std::string_view(buf, static_cast<size_t>(n)));
  }
  ::close(fd);
  return sha.Finish();
}

core::Result<std::string> DigestHex(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.substr(0, kPrefix.size()) != kPrefix || digest.size() != kPrefix.size() + 64) {
    return core::Fail(core::ErrorCode::kInvalidRequest,
                      "unsupported digest \"" + std::string(digest) + "\"");
  }
  std::string hex(digest.substr(kPrefix.size()));
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return core::Fail(core::ErrorCode::kInvalidRequest,
                        "unsupported digest \"" + std::string(digest) + "\"");
    }
  }
  return hex;
}

}  // namespace runvoy::providers::local::image
