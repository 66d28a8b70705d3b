#pragma once

// Registered images (SPEC.md §2.5): register, list, show, remove, and resolving a run's image.

#include <optional>
#include <string>
#include <vector>

#include "contract/store.h"
#include "core/records.h"
#include "core/time.h"
#include "service/caller.h"

namespace runvoy::service {

struct ImageRegistration {
  std::string image;
  bool is_default = false;
  std::optional<int> cpu;
  std::optional<int> memory;
  std::optional<std::string> runtime_platform;
  std::string task_role_name;
  std::string task_execution_role_name;
};

// Thread-safe; every method blocks on the store.
class Images {
 public:
  Images(contract::Store& store, const core::Clock& clock);

  // kInvalidRequest for a bad reference, cpu, memory or platform. Idempotent per image ID.
  core::Result<core::Image> Register(const Caller& caller, const ImageRegistration& request);
  core::Result<std::vector<core::Image>> List();
  // An exact image ID, else the entries matching the reference after normalisation (the default
  // one first). kNotFound when nothing matches; kInvalidRequest for a malformed reference.
  core::Result<core::Image> Show(const std::string& ref_or_id);
  // Needs the exact image ID: a reference answers kInvalidRequest saying so. kForbidden when the
  // caller is neither admin/operator nor an owner.
  core::Result<core::Image> Remove(const Caller& caller, const std::string& image_id);
  // The image a run uses: `ref_or_id` resolved like Show, or the default when empty.
  // kInvalidRequest when unknown or when there is no default.
  core::Result<core::Image> ResolveForRun(const std::string& ref_or_id);

 private:
  core::Result<std::optional<core::Image>> Find(const std::string& ref_or_id);

  contract::Store& store_;
  const core::Clock& clock_;
};

}  // namespace runvoy::service
