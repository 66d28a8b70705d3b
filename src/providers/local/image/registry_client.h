#pragma once

// A client of the OCI distribution API v2 (the Docker registry API): resolves an image
// reference to its manifest for this machine's platform and downloads blobs, verifying every
// digest. HTTPS, or plain HTTP for loopback registries (localhost, 127.0.0.0/8, ::1);
// anonymous access, with the Bearer token dance when a registry asks for it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/records.h"

namespace runvoy::common {
class HttpClient;
}

namespace runvoy::providers::local::image {

struct LayerDescriptor {
  std::string digest;      // "sha256:..."
  std::string media_type;  // gzip, zstd or plain tar; libarchive tells them apart anyway
  int64_t size = 0;
};

// What a manifest names: the config blob (fetched and verified) and the layers, bottom first.
struct ResolvedImage {
  std::string manifest_digest;
  std::string config_digest;
  std::string config_json;
  std::vector<LayerDescriptor> layers;
};

struct RegistryClientOptions {
  std::chrono::milliseconds request_timeout{60'000};  // manifests, tokens
  std::chrono::milliseconds blob_timeout{0};          // none: layers can be large
  std::string os = "linux";
  std::string architecture;  // empty = this machine's (amd64, arm64, ...)
  // Polled while data flows; true aborts the transfer (the call fails with kServiceUnavailable
  // "cancelled").
  std::function<bool()> cancelled;
};

// The platform name of this machine in OCI terms ("amd64" for x86_64, "arm64" for aarch64).
std::string MachineArchitecture();

// Whether `host` ("name[:port]") is a loopback host, reached over plain HTTP.
bool IsLoopbackRegistry(const std::string& host);

class RegistryClient {
 public:
  RegistryClient(core::ImageReference reference, RegistryClientOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // Fetches the manifest of the reference (its digest when it has one, else its tag); an
  // index or manifest list selects the entry of this platform. kNotFound when the registry
  // has no such image or no entry for the platform, kServiceUnavailable when it cannot be
  // reached, kInvalidRequest for digest mismatches and unusable manifests.
  core::Result<ResolvedImage> Resolve();

  // Downloads blob `digest` into `path` (through a temporary file next to it, renamed when
  // its SHA-256 matches). `progress` gets the bytes received so far. kInvalidRequest
  // "digest mismatch ..." when the content does not match.
  core::Result<void> FetchBlob(const std::string& digest, const std::string& path,
                               const std::function<void(int64_t)>& progress);

  // "registry/name" for messages.
  std::string Describe() const;

 private:
  struct Fetched {
    long status = 0;
    std::string body;
    std::string content_type;
  };
  core::Result<Fetched> Get(const std::string& path, const std::string& accept, bool small,
                            const std::function<bool(std::string_view)>& on_chunk);
  core::Result<void> Authenticate(const std::string& challenge);
  core::Result<std::string> FetchManifestBody(const std::string& ref, std::string& media_type);

  core::ImageReference reference_;
  RegistryClientOptions options_;
  std::string base_url_;    // "https://host" or "http://127.0.0.1:port"
  std::string repository_;  // "library/busybox"
  std::string token_;
  std::unique_ptr<common::HttpClient> http_;
};

}  // namespace runvoy::providers::local::image
