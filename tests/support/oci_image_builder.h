#pragma once

// Test-side OCI images without a Docker daemon: layer tarballs written with libarchive, config
// and manifest JSON, pushed to a registry with plain HTTP PUTs of the distribution API, or
// written as `docker save` / OCI layout tarballs. Plus the loopback registry of the tests.

#include <string>
#include <vector>

#include "core/error.h"

namespace runvoy::testing {

struct TarEntry {
  enum class Type { kFile, kDir, kSymlink, kHardlink };
  std::string path;  // relative, e.g. "bin/busybox" or "etc/.wh.passwd"
  Type type = Type::kFile;
  std::string content;  // kFile
  std::string link;     // kSymlink target, kHardlink path of the linked file
  int mode = 0644;
};

// A tar archive of `entries`, gzip-compressed when `gzip`.
std::string MakeTar(const std::vector<TarEntry>& entries, bool gzip);

// The layer of a minimal busybox image: /bin/busybox (Debian's busybox-static) with the usual
// applet links (sh, ls, cat, echo, id, env, pwd, sleep, ...) plus /etc/passwd and /etc/group
// naming root (0), nobody (65534) and app (1000).
std::vector<TarEntry> BusyboxLayerEntries();

struct ImageConfigSpec {
  std::vector<std::string> env;  // "KEY=value"
  std::string working_dir;
  std::string user;
};

// A built image: blobs and the JSON documents that name them.
struct TestImage {
  std::vector<std::string> layers;  // compressed or plain tar blobs, bottom first
  std::string config_json;
  std::string manifest_json;  // OCI image manifest
  std::string manifest_digest;
};

TestImage BuildImage(std::vector<std::string> layers, const ImageConfigSpec& config);

// "sha256:<hex>" of `bytes`.
std::string Sha256Digest(const std::string& bytes);

// Pushes `image` as <registry>/<name>:<tag> ("registry" = "127.0.0.1:port").
core::Result<void> PushImage(const std::string& registry, const std::string& name,
                             const std::string& tag, const TestImage& image);

// Pushes an OCI index for <name>:<tag> naming manifests already pushed, each with a platform
// ("linux/amd64", "linux/arm64", ...).
core::Result<void> PushIndex(const std::string& registry, const std::string& name,
                             const std::string& tag,
                             const std::vector<std::pair<std::string, TestImage>>& platforms);

// Uploads one blob (any content, for the corrupt-layer tests: the registry stores what it is
// given under the digest it verifies itself).
core::Result<void> PushBlob(const std::string& registry, const std::string& name,
                            const std::string& blob);

// A `docker save` tarball (manifest.json, <hex>.json config, <hex>/layer.tar layers).
std::string DockerSaveTarball(const TestImage& image, const std::string& repo_tag);
// An OCI image layout tarball (oci-layout, index.json, blobs/sha256/...).
std::string OciLayoutTarball(const TestImage& image);

// The loopback registry of the tests, "127.0.0.1:<port>": the one whose state directory
// $RUNVOY_OCI_REGISTRY_STATE names, else the one of the ctest fixture "oci_registry" when it
// runs, else one started for this process (stopped at its exit).
std::string OciRegistry();
// The registry's storage directory (to corrupt blobs in it).
std::string OciRegistryStorage();

}  // namespace runvoy::testing
