#include "providers/docker/docker_workspace.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

namespace runvoy::providers::docker {
namespace {

using core::ErrorCode;
using core::Fail;

std::optional<int64_t> Number(std::string_view text) {
  if (text.empty() || text.size() > 10)
    return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// The fields of the line of a passwd/group file whose first (by name) or third (by ID) field
// matches; empty when none does.
std::vector<std::string> FindEntry(const std::string& file, std::string_view key, bool by_id) {
  size_t start = 0;
  while (start < file.size()) {
    size_t end = file.find('\n', start);
    if (end == std::string::npos)
      end = file.size();
    std::string_view line(file.data() + start, end - start);
    start = end + 1;
    std::vector<std::string> fields;
    size_t from = 0;
    for (;;) {
      const size_t colon = line.find(':', from);
      fields.emplace_back(line.substr(from, colon == std::string_view::npos ? line.npos
                                                                             : colon - from));
      if (colon == std::string_view::npos)
        break;
      from = colon + 1;
    }
    if (fields.size() >= 3 && fields[by_id ? 2 : 0] == key)
      return fields;
  }
  return {};
}

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t AppendToString(archive*, void* user, const void* data, size_t size) {
  static_cast<std::string*>(user)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

}  // namespace

core::Result<ContainerOwner> ResolveContainerUser(const std::string& user,
                                                  const std::string& passwd,
                                                  const std::string& group) {
  ContainerOwner owner;
  if (user.empty())
    return owner;
  const size_t colon = user.find(':');
  const std::string name = user.substr(0, colon);
  const std::string group_name = colon == std::string::npos ? std::string() : user.substr(colon + 1);
  if (auto id = Number(name)) {
    owner.uid = static_cast<uid_t>(*id);
    const auto entry = FindEntry(passwd, name, true);
    if (entry.size() >= 4) {
      if (auto gid = Number(entry[3]))
        owner.gid = static_cast<gid_t>(*gid);
    }
  } else {
    const auto entry = FindEntry(passwd, name, false);
    if (entry.size() < 4 || !Number(entry[2]) || !Number(entry[3])) {
      return Fail(ErrorCode::kInvalidRequest,
                  "docker: the image's user " + name + " is not in its /etc/passwd");
    }
    owner.uid = static_cast<uid_t>(*Number(entry[2]));
    owner.gid = static_cast<gid_t>(*Number(entry[3]));
  }
  if (!group_name.empty()) {
    if (auto id = Number(group_name)) {
      owner.gid = static_cast<gid_t>(*id);
    } else {
      const auto entry = FindEntry(group, group_name, false);
      if (entry.size() < 3 || !Number(entry[2])) {
        return Fail(ErrorCode::kInvalidRequest,
                    "docker: the image's group " + group_name + " is not in its /etc/group");
      }
      owner.gid = static_cast<gid_t>(*Number(entry[2]));
    }
  }
  return owner;
}

core::Result<std::string> TarDirectory(const std::string& dir, const std::string& name, uid_t uid,
                                       gid_t gid) {
  std::string out;
  std::unique_ptr<archive, ArchiveWriteDeleter> writer(archive_write_new());
  if (!writer || archive_write_set_format_pax_restricted(writer.get()) != ARCHIVE_OK ||
      archive_write_open(writer.get(), &out, nullptr, &AppendToString, nullptr) != ARCHIVE_OK) {
    return Fail(ErrorCode::kInternal, "cannot write a tar stream of the workspace");
  }
  auto add = [&](const std::filesystem::path& path, const std::string& entry_name) -> core::Result<void> {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      return Fail(ErrorCode::kInternal,
                  "cannot read " + path.string() + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
      return {};
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_copy_pathname(entry.get(), entry_name.c_str());
    archive_entry_set_mode(entry.get(), st.st_mode);
    archive_entry_set_uid(entry.get(), uid);
    archive_entry_set_gid(entry.get(), gid);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    std::string data;
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(path, ec);
      if (ec)
        return Fail(ErrorCode::kInternal, "cannot read the link " + path.string());
      archive_entry_copy_symlink(entry.get(), target.c_str());
      archive_entry_set_size(entry.get(), 0);
    } else if (S_ISREG(st.st_mode)) {
      std::ifstream in(path, std::ios::binary);
      data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof())
        return Fail(ErrorCode::kInternal, "cannot read " + path.string());
      archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    } else {
      archive_entry_set_size(entry.get(), 0);
    }
    if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK ||
        (!data.empty() && archive_write_data(writer.get(), data.data(), data.size()) !=
                              static_cast<la_ssize_t>(data.size()))) {
      return Fail(ErrorCode::kInternal, std::string("cannot write the workspace's tar stream: ") +
                                            archive_error_string(writer.get()));
    }
    return {};
  };
  if (auto r = add(dir, name); !r)
    return tl::unexpected(r.error());
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    // Lexically: std::filesystem::relative() would resolve symlinks.
    const auto relative_path = it->path().lexically_relative(std::filesystem::path(dir));
    const std::string relative = relative_path.string();
    if (relative.empty() || relative == "." || *relative_path.begin() == "..")
      return Fail(ErrorCode::kInternal, "cannot place " + it->path().string() + " in the tar");
    if (auto r = add(it->path(), name + "/" + relative); !r)
      return tl::unexpected(r.error());
  }
  if (ec)
    return Fail(ErrorCode::kInternal, "cannot walk " + dir + ": " + ec.message());
  if (archive_write_close(writer.get()) != ARCHIVE_OK)
    return Fail(ErrorCode::kInternal, "cannot finish the workspace's tar stream");
  return out;
}

std::optional<std::string> FirstFileOfTar(std::string_view tar) {
  std::unique_ptr<archive, ArchiveReadDeleter> reader(archive_read_new());
  if (!reader)
    return std::nullopt;
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_memory(reader.get(), tar.data(), tar.size()) != ARCHIVE_OK)
    return std::nullopt;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    if (archive_entry_filetype(entry) != AE_IFREG)
      continue;
    std::string content;
    char buffer[8192];
    la_ssize_t n;
    while ((n = archive_read_data(reader.get(), buffer, sizeof buffer)) > 0)
      content.append(buffer, static_cast<size_t>(n));
    if (n < 0)
      return std::nullopt;
    return content;
  }
  return std::nullopt;
}

}  // namespace runvoy::providers::docker
