#include "service/images.h"

#include <algorithm>

#include "auth/policy.h"
#include "core/image_reference.h"

namespace runvoy::service {
namespace {

constexpr int kMaxCpu = 64 * 1024;
constexpr int kMaxMemoryMb = 1024 * 1024;

bool IsOwner(const std::vector<std::string>& owners, const std::string& email) {
  return std::find(owners.begin(), owners.end(), email) != owners.end();
}

}  // namespace

Images::Images(contract::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

core::Result<core::Image> Images::Register(const Caller& caller,
                                           const ImageRegistration& request) {
  auto reference = core::ParseImageReference(request.image);
  if (!reference) return tl::unexpected(reference.error());
  const int cpu = request.cpu.value_or(256);
  const int memory = request.memory.value_or(512);
  if (cpu <= 0 || cpu > kMaxCpu) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid cpu",
                      "cpu must be between 1 and 65536 (1024 = one core)");
  }
  if (memory <= 0 || memory > kMaxMemoryMb) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid memory",
                      "memory must be between 1 and 1048576 MB");
  }
  const std::string platform = request.runtime_platform.value_or("Linux/X86_64");
  if (platform != "Linux/X86_64" && platform != "Linux/ARM64") {
    return core::Fail(core::ErrorCode::kInvalidRequest, "invalid runtime_platform",
                      "runtime_platform must be Linux/X86_64 or Linux/ARM64");
  }
  core::Image image;
  image.image_id = core::ComputeImageId(*reference, cpu, memory, platform, request.task_role_name,
                                        request.task_execution_role_name);
  image.image = request.image;
  image.is_default = request.is_default;
  image.cpu = cpu;
  image.memory = memory;
  image.runtime_platform = platform;
  image.image_registry = reference->registry;
  image.image_name = reference->name;
  image.image_tag = reference->tag;
  image.image_digest = reference->digest;
  image.normalized = reference->normalized;
  image.task_role_name = request.task_role_name;
  image.task_execution_role_name = request.task_execution_role_name;
  image.created_by = caller.email;
  image.owned_by = {caller.email};
  image.created_at = clock_.Now();
  image.created_by_request_id = caller.request_id;
  image.modified_by_request_id = caller.request_id;
  return store_.Images().Put(image, request.is_default);
}

core::Result<std::vector<core::Image>> Images::List() { return store_.Images().List(); }

core::Result<std::optional<core::Image>> Images::Find(const std::string& ref_or_id) {
  auto exact = store_.Images().Get(ref_or_id);
  if (!exact) return tl::unexpected(exact.error());
  if (*exact) return exact;
  auto reference = core::ParseImageReference(ref_or_id);
  if (!reference) return tl::unexpected(reference.error());
  auto all = store_.Images().List();
  if (!all) return tl::unexpected(all.error());
  std::optional<core::Image> match;
  for (const core::Image& image : *all) {
    if (image.normalized != reference->normalized) continue;
    if (!match || (image.is_default && !match->is_default)) match = image;
  }
  return match;
}

core::Result<core::Image> Images::Show(const std::string& ref_or_id) {
  auto found = Find(ref_or_id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) return core::Fail(core::ErrorCode::kNotFound, "image not found", ref_or_id);
  return **found;
}

core::Result<core::Image> Images::Remove(const Caller& caller, const std::string& image_id) {
  auto exact = store_.Images().Get(image_id);
  if (!exact) return tl::unexpected(exact.error());
  if (!*exact) {
    if (!core::LooksLikeImageId(image_id) && core::ParseImageReference(image_id)) {
      return core::Fail(core::ErrorCode::kInvalidRequest, "an image ID is required",
                        "removing needs the exact image_id (see `runvoy images list`), not a "
                        "reference");
    }
    return core::Fail(core::ErrorCode::kNotFound, "image not found", image_id);
  }
  if (!auth::Allows(caller.role, auth::Action::kRemoveImage,
                    IsOwner((*exact)->owned_by, caller.email))) {
    return core::Fail(core::ErrorCode::kForbidden, "not allowed to remove this image");
  }
  return store_.Images().Remove(image_id);
}

core::Result<core::Image> Images::ResolveForRun(const std::string& ref_or_id) {
  if (ref_or_id.empty()) {
    auto all = store_.Images().List();
    if (!all) return tl::unexpected(all.error());
    for (const core::Image& image : *all) {
      if (image.is_default) return image;
    }
    return core::Fail(core::ErrorCode::kInvalidRequest, "no image given and no default image",
                      "register an image first (runvoy images register <image>)");
  }
  auto found = Find(ref_or_id);
  if (!found) return tl::unexpected(found.error());
  if (!*found) {
    return core::Fail(core::ErrorCode::kInvalidRequest, "unknown image",
                      ref_or_id + " is not registered");
  }
  return **found;
}

}  // namespace runvoy::service
