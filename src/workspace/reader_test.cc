#include "workspace/reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>

#include "workspace/test_tree.h"

namespace workspace {
namespace {

using testing::ResolverTest;

class ReaderTest : public ResolverTest {
 protected:
  FsResult<ReadableFile> Open(const std::string& raw) {
    auto path = ParseClientPath(raw, PathUse::kFile);
    EXPECT_TRUE(path.has_value());
    return OpenRegularForRead(root(), *path);
  }

  void ExpectRefused(const std::string& raw, FsErrc code) {
    auto file = Open(raw);
    ASSERT_FALSE(file.has_value()) << raw;
    EXPECT_EQ(file.error().code, code) << raw << ": " << file.error().message;
  }
};
WORKSPACE_BOTH_RESOLVERS(ReaderTest);

TEST_P(ReaderTest, ReadsARegularFile) {
  fs::create_directories(root_ / "d");
  testing::WriteHostFile(root_ / "d/data.bin", std::string("a\0b\xff", 4));
  auto file = Open("/sandbox/d/data.bin");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->size, 4u);
  EXPECT_EQ(file->links, 1u);
  EXPECT_EQ(fcntl(file->fd.Get(), F_GETFL) & O_NONBLOCK, 0);  // cleared
  std::string buffer(4, '?');
  ASSERT_TRUE(ReadExactly(*file, 0, buffer).has_value());
  EXPECT_EQ(buffer, std::string("a\0b\xff", 4));
  std::string more(1, '?');
  auto past_end = ReadExactly(*file, 4, more);
  ASSERT_FALSE(past_end.has_value());
  EXPECT_NE(past_end.error().message.find("shrank"), std::string::npos);
}

TEST_P(ReaderTest, NeverReadsThroughASymlink) {
  fs::create_symlink(canary_, root_ / "link");
  fs::create_symlink(outside_, root_ / "dir");
  fs::create_symlink("real", root_ / "to-inside");
  testing::WriteHostFile(root_ / "real", "inside");
  ExpectRefused("link", FsErrc::kLink);
  ExpectRefused("dir/canary", FsErrc::kLink);
  ExpectRefused("to-inside", FsErrc::kLink);  // even one that stays inside
}

TEST_P(ReaderTest, AFifoNeitherBlocksNorIsRead) {
  ASSERT_EQ(mkfifo((root_ / "fifo").c_str(), 0666), 0);
  const auto start = std::chrono::steady_clock::now();
  ExpectRefused("fifo", FsErrc::kWrongType);  // blocking here would hang the test
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_P(ReaderTest, RefusesSocketsDirectoriesAndTheRoot) {
  testing::MakeSocket(root_ / "sock");
  fs::create_directories(root_ / "dir");
  ExpectRefused("sock", FsErrc::kWrongType);
  ExpectRefused("dir", FsErrc::kWrongType);
  ExpectRefused("missing", FsErrc::kNotFound);
  auto root_itself = OpenRegularForRead(root(), {});
  ASSERT_FALSE(root_itself.has_value());
  EXPECT_EQ(root_itself.error().code, FsErrc::kWrongType);
}

// Policy (reader.h): a hardlink is a regular file inside the workspace and is read.
TEST_P(ReaderTest, AHardlinkIsReadAsTheFileItIs) {
  ASSERT_EQ(link(canary_.c_str(), (root_ / "hard").c_str()), 0) << strerror(errno);
  canary_state_ = testing::StateOf(canary_);  // nlink is 2 now
  auto file = Open("hard");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->links, 2u);
}

TEST_P(ReaderTest, AFileThatShrinksWhileReadIsReported) {
  testing::WriteHostFile(root_ / "f", std::string(1000, 'x'));
  auto file = Open("f");
  ASSERT_TRUE(file.has_value());
  ASSERT_EQ(truncate((root_ / "f").c_str(), 10), 0);
  std::string buffer(100, '?');
  auto read = ReadExactly(*file, 0, buffer);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, FsErrc::kIo);
}

}  // namespace
}  // namespace workspace
