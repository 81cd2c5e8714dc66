#include "workspace/remove.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "workspace/test_tree.h"

namespace workspace {
namespace {

using testing::ResolverTest;
using testing::WriteHostFile;

class RemoveTest : public ResolverTest {
 protected:
  FsResult<void> Rm(const std::string& raw, bool recursive, std::size_t depth = 64) {
    auto path = ParseClientPath(raw, PathUse::kFile);
    EXPECT_TRUE(path.has_value());
    return Remove(root(), *path, recursive, depth);
  }
};
WORKSPACE_BOTH_RESOLVERS(RemoveTest);

TEST_P(RemoveTest, FilesAndDirectories) {
  WriteHostFile(root_ / "f", "x");
  fs::create_directories(root_ / "d/e/f");
  WriteHostFile(root_ / "d/e/g", "x");
  fs::create_directories(root_ / "empty");
  ASSERT_TRUE(Rm("f", false).has_value());
  EXPECT_EQ(Rm("f", false).error().code, FsErrc::kNotFound);
  EXPECT_EQ(Rm("empty", false).error().code, FsErrc::kWrongType);  // even an empty one
  EXPECT_EQ(Rm("d", false).error().code, FsErrc::kWrongType);
  ASSERT_TRUE(Rm("d", true).has_value());
  ASSERT_TRUE(Rm("empty", true).has_value());
  EXPECT_TRUE(Names().empty());
  auto root_itself = Remove(root(), {}, true);
  ASSERT_FALSE(root_itself.has_value());
  EXPECT_EQ(root_itself.error().code, FsErrc::kBadPath);
}

TEST_P(RemoveTest, ALinkIsRemovedItselfNeverItsTarget) {
  fs::create_symlink(canary_, root_ / "link");
  fs::create_symlink(outside_, root_ / "linked-dir");
  ASSERT_TRUE(Rm("link", false).has_value());
  ASSERT_TRUE(Rm("linked-dir", true).has_value());  // recursive: still only the link
  EXPECT_TRUE(Names().empty());
}

TEST_P(RemoveTest, RecursionNeverEntersASymlinkedDirectory) {
  fs::create_directories(root_ / "tree/sub");
  WriteHostFile(root_ / "tree/sub/x", "x");
  fs::create_symlink(outside_, root_ / "tree/sub/escape");
  fs::create_symlink(canary_, root_ / "tree/canary-link");
  ASSERT_EQ(link(canary_.c_str(), (root_ / "tree/hard").c_str()), 0);
  ASSERT_TRUE(Rm("tree", true).has_value());
  EXPECT_TRUE(Names().empty());
}

TEST_P(RemoveTest, APathThroughASymlinkIsRefused) {
  fs::create_symlink(outside_, root_ / "out");
  auto removed = Rm("out/canary", false);
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, FsErrc::kLink);
  EXPECT_EQ(Rm("out/canary", true).error().code, FsErrc::kLink);
}

TEST_P(RemoveTest, DepthIsBounded) {
  fs::path deep = root_ / "deep";
  for (int i = 0; i < 10; ++i) deep /= "d";
  fs::create_directories(deep);
  auto removed = Rm("deep", true, 5);
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, FsErrc::kTooDeep);
  EXPECT_EQ(HttpStatus(removed.error().code), 409);
  ASSERT_TRUE(Rm("deep", true, 64).has_value());
}

TEST_P(RemoveTest, FifosAndSocketsAreUnlinked) {
  fs::create_directories(root_ / "d");
  ASSERT_EQ(mkfifo((root_ / "d/fifo").c_str(), 0666), 0);
  testing::MakeSocket(root_ / "d/sock");
  ASSERT_TRUE(Rm("d", true).has_value());
  EXPECT_TRUE(Names().empty());
}

}  // namespace
}  // namespace workspace
