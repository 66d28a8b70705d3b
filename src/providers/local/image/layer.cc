#include "providers/local/image/layer.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace runvoy::providers::local::image {
namespace {

using core::ErrorCode;
using core::Fail;

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

// A tar path made relative and checked: no absolute part, no "..". Empty when unsafe.
std::string CleanPath(std::string_view raw, bool& unsafe) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= raw.size()) {
    size_t j = raw.find('/', i);
    if (j == std::string_view::npos)
      j = raw.size();
    std::string_view part = raw.substr(i, j - i);
    if (part == "..") {
      unsafe = true;
      return {};
    }
    if (!part.empty() && part != ".")
      parts.emplace_back(part);
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty())
      out += '/';
    out += p;
  }
  return out;
}

// Creates the parent directories of `rel` under `dir`, as plain 0755 directories.
void MakeParents(const std::string& dir, const std::string& rel) {
  size_t pos = 0;
  while ((pos = rel.find('/', pos)) != std::string::npos) {
    ::mkdir((dir + "/" + rel.substr(0, pos)).c_str(), 0755);
    ++pos;
  }
}

}  // namespace

core::Result<int64_t> ExtractLayer(const std::string& tarball, const std::string& target) {
  if (::mkdir(target.c_str(), 0755) != 0) {
    return Fail(ErrorCode::kInternal, "cannot create " + target, std::strerror(errno));
  }
  // Entries get absolute paths under the resolved directory: libarchive's symlink check then
  // only meets links the layer itself made.
  char resolved[PATH_MAX];
  if (::realpath(target.c_str(), resolved) == nullptr) {
    return Fail(ErrorCode::kInternal, "cannot resolve " + target, std::strerror(errno));
  }
  const std::string dir = resolved;
  struct archive* in = archive_read_new();
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
  struct archive* out = archive_write_disk_new();
  archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                          ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR |
                                          ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                          ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_UNLINK);
  archive_write_disk_set_standard_lookup(out);
  auto finish = [&](core::Result<int64_t> result) {
    archive_read_free(in);
    archive_write_free(out);
    return result;
  };
  if (archive_read_open_filename(in, tarball.c_str(), 1 << 16) != ARCHIVE_OK) {
    return finish(Fail(ErrorCode::kInvalidRequest, "cannot read the layer " + tarball,
                       archive_error_string(in) ? archive_error_string(in) : ""));
  }
  int64_t bytes = 0;
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int r = archive_read_next_header(in, &entry);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN) {
      return finish(Fail(ErrorCode::kInvalidRequest, "the layer is not a valid tar archive",
                         archive_error_string(in) ? archive_error_string(in) : ""));
    }
    bool unsafe = false;
    const char* raw = archive_entry_pathname(entry);
    const std::string rel = CleanPath(raw != nullptr ? raw : "", unsafe);
    if (unsafe) {
      return finish(Fail(ErrorCode::kInvalidRequest,
                         "the layer has an unsafe path \"" + std::string(raw) + "\""));
    }
    if (rel.empty())
      continue;  // the layer's root itself
    const size_t slash = rel.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
    const std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
    const std::string parent_path = parent.empty() ? dir : dir + "/" + parent;
    if (base == kOpaque || base.rfind(kWhiteout, 0) == 0) {
      // A whiteout's directory must be a real one of the layer, not reached through a link.
      MakeParents(dir, rel);
      char real[PATH_MAX];
      if (::realpath(parent_path.c_str(), real) == nullptr || parent_path != real) {
        return finish(Fail(ErrorCode::kInvalidRequest,
                           "the layer has a whiteout under a link: \"" + rel + "\""));
      }
    }
    if (base == kOpaque) {
      if (::setxattr(parent_path.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return finish(
            Fail(ErrorCode::kInternal, "cannot mark " + parent + " opaque", std::strerror(errno)));
      }
      continue;
    }
    if (base.rfind(kWhiteout, 0) == 0) {
      const std::string hidden = base.substr(kWhiteout.size());
      if (hidden.empty() || hidden == "." || hidden == "..")
        continue;
      const std::string path = parent_path + "/" + hidden;
      if (::mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0 && errno != EEXIST) {
        return finish(
            Fail(ErrorCode::kInternal, "cannot create the whiteout " + path, std::strerror(errno)));
      }
      continue;
    }
    archive_entry_set_pathname(entry, (dir + "/" + rel).c_str());
    if (const char* link = archive_entry_hardlink(entry); link != nullptr) {
      bool bad = false;
      const std::string link_target = CleanPath(link, bad);
      if (bad || link_target.empty()) {
        return finish(Fail(ErrorCode::kInvalidRequest,
                           "the layer has an unsafe hard link \"" + std::string(link) + "\""));
      }
      archive_entry_set_hardlink(entry, (dir + "/" + link_target).c_str());
    }
    if (archive_write_header(out, entry) < ARCHIVE_WARN) {
      return finish(Fail(ErrorCode::kInvalidRequest, "cannot extract \"" + rel + "\"",
                         archive_error_string(out) ? archive_error_string(out) : ""));
    }
    if (archive_entry_size(entry) > 0 && archive_entry_filetype(entry) == AE_IFREG) {
      const void* block;
      size_t size;
      la_int64_t offset;
      int rr;
      while ((rr = archive_read_data_block(in, &block, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(out, block, size, offset) < ARCHIVE_WARN) {
          return finish(Fail(ErrorCode::kInternal, "cannot write \"" + rel + "\"",
                             archive_error_string(out) ? archive_error_string(out) : ""));
        }
        bytes += static_cast<int64_t>(size);
      }
      if (rr != ARCHIVE_EOF) {
        return finish(Fail(ErrorCode::kInvalidRequest, "the layer is truncated or corrupt",
                           archive_error_string(in) ? archive_error_string(in) : ""));
      }
    }
    if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
      return finish(Fail(ErrorCode::kInternal, "cannot finish \"" + rel + "\"",
                         archive_error_string(out) ? archive_error_string(out) : ""));
    }
  }
  if (archive_write_close(out) != ARCHIVE_OK) {
    return finish(Fail(ErrorCode::kInternal, "cannot finish the layer",
                       archive_error_string(out) ? archive_error_string(out) : ""));
  }
  return finish(bytes);
}

}  // namespace runvoy::providers::local::image
