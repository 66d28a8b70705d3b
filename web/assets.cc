#include "web/assets.h"

#include "web/assets_internal.h"

namespace runvoy::web {

const Asset* FindAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const internal::Entry& entry : internal::Entries()) {
    if (entry.path == path) return &entry.asset;
  }
  return nullptr;
}

}  // namespace runvoy::web
