// Image references and IDs (core/image_reference.h). Checks of a reference that parses: the
// normalised form parses again to itself (normalising is idempotent, so two spellings of one
// image match), parts are non-empty and within the limits, and the image ID computed from it
// has the shape LooksLikeImageId recognises, with the same hash for both spellings.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/image_reference.h"

namespace {

[[noreturn]] void Fail(const std::string& what, std::string_view input) {
  std::fprintf(stderr, "image reference: %s: \"%.*s\"\n", what.c_str(),
               static_cast<int>(input.size()), input.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)runvoy::core::LooksLikeImageId(text);
  auto reference = runvoy::core::ParseImageReference(text);
  if (!reference) return 0;
  if (reference->name.empty() || reference->tag.empty() || reference->tag.size() > 128) {
    Fail("empty name or bad tag accepted", text);
  }
  for (char c : reference->normalized) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0') {
      Fail("whitespace in the normalised form", text);
    }
  }
  auto again = runvoy::core::ParseImageReference(reference->normalized);
  if (!again) Fail("the normalised form does not parse: " + reference->normalized, text);
  if (again->normalized != reference->normalized) {
    Fail("normalising is not idempotent: " + reference->normalized + " -> " + again->normalized,
         text);
  }
  if (again->tag != reference->tag || again->digest != reference->digest) {
    Fail("tag or digest changed by normalising", text);
  }
  const std::string id =
      runvoy::core::ComputeImageId(*reference, 256, 512, "Linux/X86_64", "", "");
  if (!runvoy::core::LooksLikeImageId(id)) Fail("image ID not recognised: " + id, text);
  // The name part is kept as written; the hash is over the normalised form.
  const std::string other = runvoy::core::ComputeImageId(*again, 256, 512, "Linux/X86_64", "", "");
  if (id.substr(id.size() - 8) != other.substr(other.size() - 8)) {
    Fail("two spellings of one image hash differently", text);
  }
  return 0;
}
