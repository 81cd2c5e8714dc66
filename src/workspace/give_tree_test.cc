#include "workspace/give_tree.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workspace/test_tree.h"

namespace workspace {
namespace {

using testing::TreeTest;
using testing::WriteHostFile;

constexpr Ownership kNewOwner{54321, 54322};

struct Owned {
  uid_t uid;
  gid_t gid;
};

Owned OwnerOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return {st.st_uid, st.st_gid};
}

class GiveTreeTest : public TreeTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "changing owners needs root";
    TreeTest::SetUp();
  }
};

TEST_F(GiveTreeTest, EverythingBeneathGetsTheOwnerAndNoLinkIsFollowed) {
  WriteHostFile(root_ / "f", "x");
  fs::create_directories(root_ / "d/e");
  WriteHostFile(root_ / "d/e/g", "x");
  fs::create_symlink(canary_, root_ / "d/canary-link");
  fs::create_symlink(outside_, root_ / "escape");
  ASSERT_EQ(mkfifo((root_ / "d/fifo").c_str(), 0666), 0);
  auto given = GiveTree(root(), kNewOwner);
  ASSERT_TRUE(given.has_value()) << given.error().message;
  EXPECT_EQ(given->changed, 8u);  // root, f, d, d/e, d/e/g, both links, the fifo
  EXPECT_FALSE(given->depth_cut);
  for (const char* path : {"", "f", "d", "d/e", "d/e/g", "d/canary-link", "escape", "d/fifo"}) {
    const Owned owned = OwnerOf(root_ / path);
    EXPECT_EQ(owned.uid, kNewOwner.uid) << path;
    EXPECT_EQ(owned.gid, kNewOwner.gid) << path;
  }
  EXPECT_EQ(OwnerOf(outside_).uid, 0u);  // the link's target directory kept its owner
  // A second pass has nothing left to do.
  auto again = GiveTree(root(), kNewOwner);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->changed, 0u);
}

TEST_F(GiveTreeTest, DepthIsBoundedAndSaid) {
  fs::path deep = root_;
  for (int i = 0; i < 6; ++i) deep /= "d";
  fs::create_directories(deep);
  auto given = GiveTree(root(), kNewOwner, 3);
  ASSERT_TRUE(given.has_value());
  EXPECT_TRUE(given->depth_cut);
  EXPECT_EQ(OwnerOf(root_ / "d/d/d/d").uid, kNewOwner.uid);  // depth 3 is changed, not entered
  EXPECT_EQ(OwnerOf(root_ / "d/d/d/d/d").uid, 0u);
}

}  // namespace
}  // namespace workspace
