// The pieces of a git workspace's copy into a container: the owner's IDs and the tar stream.

#include "providers/docker/docker_workspace.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace runvoy::providers::docker {
namespace {

constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "builder:x:1000:1001:Builder:/home/builder:/bin/sh\n"
    "app:x:2000:2000::/app:/sbin/nologin";
constexpr char kGroup[] = "root:x:0:\nstaff:x:50:builder\nbuilders:x:1001:\n";

TEST(ResolveContainerUser, TakesRootForNoUserAndNumbersAsTheyAre) {
  auto root = ResolveContainerUser("", "", "");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  auto numeric = ResolveContainerUser("4321:4322", "", "");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->uid, 4321u);
  EXPECT_EQ(numeric->gid, 4322u);
  // A number without a group: its passwd group when it has an entry, else 0.
  EXPECT_EQ(ResolveContainerUser("1000", kPasswd, kGroup)->gid, 1001u);
  EXPECT_EQ(ResolveContainerUser("777", kPasswd, kGroup)->gid, 0u);
  EXPECT_EQ(ResolveContainerUser("777", kPasswd, kGroup)->uid, 777u);
}

TEST(ResolveContainerUser, LooksNamesUpInTheImagesPasswdAndGroup) {
  auto builder = ResolveContainerUser("builder", kPasswd, kGroup);
  ASSERT_TRUE(builder);
  EXPECT_EQ(builder->uid, 1000u);
  EXPECT_EQ(builder->gid, 1001u);
  auto staff = ResolveContainerUser("app:staff", kPasswd, kGroup);
  ASSERT_TRUE(staff);
  EXPECT_EQ(staff->uid, 2000u);
  EXPECT_EQ(staff->gid, 50u);
  EXPECT_EQ(ResolveContainerUser("builder:7", kPasswd, kGroup)->gid, 7u);
  EXPECT_EQ(ResolveContainerUser("nobody-here", kPasswd, kGroup).error().code,
            core::ErrorCode::kInvalidRequest);
  EXPECT_EQ(ResolveContainerUser("app:nogroup", kPasswd, kGroup).error().code,
            core::ErrorCode::kInvalidRequest);
}

struct Entry {
  unsigned mode = 0;
  int64_t uid = -1, gid = -1;
  std::string content, link;
};

std::map<std::string, Entry> ReadTar(const std::string& tar) {
  std::map<std::string, Entry> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    Entry e;
    e.mode = archive_entry_mode(entry);
    e.uid = archive_entry_uid(entry);
    e.gid = archive_entry_gid(entry);
    if (archive_entry_symlink(entry) != nullptr)
      e.link = archive_entry_symlink(entry);
    char buffer[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0)
      e.content.append(buffer, static_cast<size_t>(n));
    std::string name = archive_entry_pathname(entry);
    if (name.size() > 1 && name.back() == '/')
      name.pop_back();  // directories are written "name/"
    out[name] = e;
  }
  archive_read_free(a);
  return out;
}

TEST(TarDirectory, NamesEveryEntryUnderTheGivenNameOwnedByTheGivenIds) {
  const std::string dir = ::testing::TempDir() + "runvoy-tar-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/sub/deeper");
  std::ofstream(dir + "/file") << "hello\n";
  std::ofstream(dir + "/sub/deeper/run.sh") << "#!/bin/sh\n";
  std::filesystem::permissions(dir + "/sub/deeper/run.sh", std::filesystem::perms(0755));
  std::filesystem::create_symlink("../..", dir + "/sub/up");
  auto tar = TarDirectory(dir, "repo", 4321, 4322);
  ASSERT_TRUE(tar) << tar.error().message;
  const auto entries = ReadTar(*tar);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(entries.size(), 6u);
  for (const char* name : {"repo", "repo/file", "repo/sub", "repo/sub/deeper",
                           "repo/sub/deeper/run.sh", "repo/sub/up"}) {
    ASSERT_EQ(entries.count(name), 1u) << name;
    EXPECT_EQ(entries.at(name).uid, 4321) << name;
    EXPECT_EQ(entries.at(name).gid, 4322) << name;
  }
  EXPECT_TRUE(S_ISDIR(entries.at("repo/sub").mode));
  EXPECT_EQ(entries.at("repo/file").content, "hello\n");
  EXPECT_EQ(entries.at("repo/sub/deeper/run.sh").mode & 0777, 0755u);
  EXPECT_TRUE(S_ISLNK(entries.at("repo/sub/up").mode));
  EXPECT_EQ(entries.at("repo/sub/up").link, "../..");
}

TEST(FirstFileOfTar, ReadsWhatTheArchiveEndpointAnswersForOneFile) {
  const std::string dir = ::testing::TempDir() + "runvoy-tar1-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/passwd") << "root:x:0:0::/:/bin/sh\n";
  auto tar = TarDirectory(dir, "etc", 0, 0);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(tar);
  EXPECT_EQ(FirstFileOfTar(*tar), "root:x:0:0::/:/bin/sh\n");
  EXPECT_EQ(FirstFileOfTar("not a tar stream"), std::nullopt);
}

}  // namespace
}  // namespace runvoy::providers::docker
