#include "common/files.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace runvoy::common {
namespace {

class FilesTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/files_test_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The names in the directory: nothing but the files written, no temporary file left behind.
  std::size_t EntryCount() const {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) {
      ++count;
    }
    return count;
  }

  std::string dir_;
};

TEST_F(FilesTest, AnAtomicWriteReplacesTheWholeContent) {
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/f", "first, longer content").has_value());
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/f", "second", false).has_value());
  EXPECT_EQ(ReadWholeFile(dir_ + "/f").value(), "second");
  EXPECT_EQ(EntryCount(), 1u);
}

TEST_F(FilesTest, ReadsALargeFileWhole) {
  const std::string content(100000, 'x');
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/large", content).has_value());
  EXPECT_EQ(ReadWholeFile(dir_ + "/large").value(), content);
}

TEST_F(FilesTest, AWriteThatCannotHappenFailsAndLeavesNothing) {
  auto written = WriteFileAtomically(dir_ + "/missing/f", "content");
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, core::ErrorCode::kInternal);
  EXPECT_NE(written.error().message.find(dir_ + "/missing/f"), std::string::npos);
  // A directory in the file's place: the rename fails, the temporary file is removed.
  std::filesystem::create_directories(dir_ + "/taken/inside");
  EXPECT_FALSE(WriteFileAtomically(dir_ + "/taken", "content").has_value());
  EXPECT_EQ(EntryCount(), 1u);  // "taken" alone
}

TEST_F(FilesTest, AMissingFileIsNotFound) {
  auto read = ReadWholeFile(dir_ + "/absent");
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, core::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace runvoy::common
