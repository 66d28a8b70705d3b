#include "core/image_reference.h"

#include <cctype>

#include <fmt/format.h>

#include "core/sha256.h"

namespace runvoy::core {
namespace {

constexpr std::size_t kMaxReferenceLength = 512;

bool IsPathChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '/';
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

Result<ImageReference> Invalid(std::string_view text, std::string_view why) {
  return Fail(ErrorCode::kInvalidRequest, "invalid image reference",
              fmt::format("\"{}\": {}", text.substr(0, 80), why));
}

}  // namespace

Result<ImageReference> ParseImageReference(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  if (text.size() > kMaxReferenceLength) return Invalid(text, "too long");
  ImageReference ref;
  std::string_view rest = text;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    const std::string_view digest = rest.substr(at + 1);
    if (digest.substr(0, 7) != "sha256:" || digest.size() != 7 + 64 || !IsLowerHex(digest.substr(7))) {
      return Invalid(text, "digest must be sha256:<64 lowercase hex>");
    }
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view first = rest.substr(0, slash);
    const bool relative = first == "." || first == "..";
    if (!relative && (first.find('.') != std::string_view::npos ||
                      first.find(':') != std::string_view::npos || first == "localhost")) {
      ref.registry = std::string(first);
      rest = rest.substr(slash + 1);
      for (char c : ref.registry) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':') {
          return Invalid(text, "bad registry host");
        }
      }
    }
  }
  const auto last_slash = rest.rfind('/');
  const auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (ref.tag.empty() || ref.tag.size() > 128) return Invalid(text, "bad tag");
    for (char c : ref.tag) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
        return Invalid(text, "bad tag");
      }
    }
  } else {
    ref.tag = "latest";
  }
  if (rest.empty()) return Invalid(text, "missing name");
  for (char c : rest) {
    if (!IsPathChar(c)) return Invalid(text, "bad character in name");
  }
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto end = rest.find('/', start);
    const std::string_view segment =
        rest.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return Invalid(text, "empty or relative path segment");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  ref.name = std::string(rest);

  // docker.io/library/x, docker.io/x and x all mean the same image.
  std::string registry = ref.registry.empty() ? "docker.io" : ref.registry;
  if (registry == "index.docker.io" || registry == "registry-1.docker.io") registry = "docker.io";
  std::string path = ref.name;
  if (registry == "docker.io" && path.find('/') == std::string::npos) path = "library/" + path;
  ref.normalized = registry + "/" + path + ":" + ref.tag;
  if (!ref.digest.empty()) ref.normalized += "@" + ref.digest;
  // The normalised form is a reference too (clients may pass it back): it must parse as well.
  if (ref.normalized.size() > kMaxReferenceLength) return Invalid(text, "too long");
  return ref;
}

std::string ComputeImageId(const ImageReference& reference, int cpu, int memory,
                           const std::string& runtime_platform, const std::string& task_role,
                           const std::string& task_execution_role) {
  const std::string material = fmt::format("{}|{}|{}|{}|{}|{}", reference.normalized, cpu, memory,
                                           runtime_platform, task_role, task_execution_role);
  return fmt::format("{}:{}-{}", reference.name, reference.tag, Sha256Hex(material).substr(0, 8));
}

bool LooksLikeImageId(std::string_view text) {
  if (text.size() < 10) return false;
  const std::string_view suffix = text.substr(text.size() - 9);
  return suffix[0] == '-' && IsLowerHex(suffix.substr(1)) && text.find(':') != std::string_view::npos;
}

}  // namespace runvoy::core
