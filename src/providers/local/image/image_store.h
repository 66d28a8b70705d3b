#pragma once

// The local sandbox's image cache, shared by every supervisor process (cross-process safe
// through flock):
//
//   <root>/store.lock          held while records are written or images evicted
//   <root>/blobs/              downloads in progress (layer blobs are deleted once extracted)
//   <root>/layers/<hex>/       one extracted layer per digest, shared by every image using it
//   <root>/refs/<key>.json     one image: reference, manifest digest, config, layers, last use
//   <root>/refs/<key>.fetch    flock'ed exclusively by the one process fetching the image
//   <root>/refs/<key>.use      flock'ed shared by every process running the image
//
// The size of the cache is the sum of its distinct layers; above the bound, the least recently
// used images that no process uses are evicted, then the layers no image names.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "core/error.h"
#include "core/records.h"

namespace runvoy::providers::local::image {

// What of an image's config the sandbox applies.
struct ImageConfig {
  std::vector<std::string> env;  // "KEY=value"
  std::string working_dir;
  std::string user;
};

// An image ready to be mounted: its layer directories, bottom first.
struct PreparedImage {
  std::string normalized;
  std::string manifest_digest;
  std::vector<std::string> layer_dirs;
  ImageConfig config;
};

struct StoreHooks {
  std::function<void(const std::string&)> progress;  // one line per call
  std::function<bool()> cancelled;                   // true ends a fetch early
};

// One process's handle on the cache. Acquire() keeps the image in use (not evictable) until
// the handle is destroyed. Not thread-safe; processes and handles may share the cache freely.
class ImageStore {
 public:
  ImageStore(std::string root, int64_t max_bytes);
  ~ImageStore();
  ImageStore(const ImageStore&) = delete;
  ImageStore& operator=(const ImageStore&) = delete;

  // The image of `reference`, from the cache or fetched from its registry (once: concurrent
  // Acquire calls of other processes wait for it and reuse it). Evicts other images to keep
  // the bound afterwards. Errors carry the reason a run fails with: kNotFound, kInvalidRequest
  // (digest mismatch, bad manifest or layer), kServiceUnavailable (registry unreachable or
  // "cancelled").
  core::Result<PreparedImage> Acquire(const core::ImageReference& reference,
                                      const StoreHooks& hooks);

  // Stores the image in the `docker save` or OCI layout tarball at `tarball` under
  // `reference`, replacing what the cache had for it. Answers the stored image.
  core::Result<PreparedImage> Import(const core::ImageReference& reference,
                                     const std::string& tarball);

  // Marks the image of `reference` in use by this handle (not evictable) without fetching it.
  core::Result<void> Hold(const core::ImageReference& reference);

  // Evicts least recently used images not in use (never `keep_normalized`) until the cache
  // fits its bound; removes layers no image names. A bound of 0 means unbounded.
  core::Result<void> Evict(const std::string& keep_normalized);

  // The bytes of all distinct layers of the cached images.
  int64_t TotalBytes();
  // The normalized references of the complete images in the cache.
  std::vector<std::string> CachedReferences();

 private:
  core::Result<void> EnsureDirs();
  std::string KeyOf(const std::string& normalized) const;
  core::Result<void> MarkInUse(const std::string& key);
  core::Result<PreparedImage> Fetch(const core::ImageReference& reference, const std::string& key,
                                    const StoreHooks& hooks);

  std::string root_;
  int64_t max_bytes_;
  std::vector<int> use_fds_;
};

// Resolves an image's User ("name", "uid", "uid:gid", "name:group") against the image's own
// /etc/passwd and /etc/group (the topmost layer that has them). kInvalidRequest when a name is
// unknown.
core::Result<void> ResolveImageUser(const PreparedImage& image, const std::string& user, uid_t& uid,
                                    gid_t& gid);

}  // namespace runvoy::providers::local::image
