// Tests that need a file system of their own: a 1 MiB tmpfs for ENOSPC, and a mount point
// inside the workspace. They mount in a private mount namespace of this test process (root
// only; skipped otherwise), so nothing shows on the host.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include "workspace/test_tree.h"
#include "workspace/workspace.h"

namespace workspace {
namespace {

using testing::TreeTest;
using testing::WriteHostFile;

bool EnterPrivateMountNamespace() {
  static const bool entered = [] {
    if (geteuid() != 0) return false;
    if (unshare(CLONE_NEWNS) != 0) return false;
    return mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
  }();
  return entered;
}

class MountTest : public TreeTest, public ::testing::WithParamInterface<Resolver> {
 protected:
  void SetUp() override {
    if (!EnterPrivateMountNamespace()) GTEST_SKIP() << "needs root (a private mount namespace)";
    if (GetParam() == Resolver::kOpenat2 && !KernelHasOpenat2()) GTEST_SKIP() << "no openat2";
    TreeTest::SetUp();
    ASSERT_EQ(mount("tmpfs", root_.c_str(), "tmpfs", 0, "size=1m,mode=0755"), 0) << strerror(errno);
    root_fd_ = common::UniqueFd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    SetResolverForTesting(GetParam());
  }
  void TearDown() override {
    if (!root_fd_.Valid()) return;
    root_fd_.Reset();
    umount2((root_ / "mnt").c_str(), MNT_DETACH);
    EXPECT_EQ(umount2(root_.c_str(), MNT_DETACH), 0) << strerror(errno);
    TreeTest::TearDown();
  }
};
WORKSPACE_BOTH_RESOLVERS(MountTest);

TEST_P(MountTest, AFullWorkspaceIs507AndLeavesNothingPartial) {
  WriteHostFile(root_ / "keep", "old contents");
  const std::string chunk(64 * 1024, 'z');
  for (const TempStrategy strategy : {TempStrategy::kAuto, TempStrategy::kNamed}) {
    SetTempStrategyForTesting(strategy);
    for (const char* target : {"keep", "dir/new"}) {
      SCOPED_TRACE(target);
      auto path = ParseClientPath(target, PathUse::kFile);
      auto writer = BeginWrite(root(), *path, {});
      ASSERT_TRUE(writer.has_value()) << writer.error().message;
      FsResult<void> wrote;
      for (int i = 0; i < 64 && wrote.has_value(); ++i) wrote = writer->Write(chunk);  // 4 MiB
      ASSERT_FALSE(wrote.has_value());
      EXPECT_EQ(wrote.error().code, FsErrc::kNoSpace) << wrote.error().message;
      EXPECT_EQ(HttpStatus(wrote.error().code), 507);
      EXPECT_FALSE(writer->Commit().has_value());
    }
    EXPECT_EQ(testing::ReadHostFile(root_ / "keep"), "old contents");
    EXPECT_EQ(Names(), (std::vector<std::string>{"dir", "keep"}));
    EXPECT_TRUE(Names("dir").empty());
    // The space came back: a small upload still works.
    auto path = ParseClientPath("small", PathUse::kFile);
    auto writer = BeginWrite(root(), *path, {});
    ASSERT_TRUE(writer->Write("fits").has_value());
    ASSERT_TRUE(writer->Commit().has_value());
    fs::remove(root_ / "small");
  }
}

TEST_P(MountTest, AMountPointInsideIsNeverCrossed) {
  fs::create_directories(root_ / "mnt");
  ASSERT_EQ(mount("tmpfs", (root_ / "mnt").c_str(), "tmpfs", 0, "size=64k"), 0);
  WriteHostFile(root_ / "mnt/file", "other fs");
  auto read = OpenRegularForRead(root(), Components{"mnt", "file"});
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, FsErrc::kLink) << read.error().message;
  auto listed = List(root(), Components{"mnt"}, 10);
  ASSERT_FALSE(listed.has_value());
  EXPECT_EQ(listed.error().code, FsErrc::kLink);
  auto written = BeginWrite(root(), Components{"mnt", "x"}, {});
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, FsErrc::kLink);
  auto removed = Remove(root(), Components{"mnt"}, true);
  ASSERT_FALSE(removed.has_value());
  EXPECT_EQ(removed.error().code, FsErrc::kLink) << removed.error().message;
  auto snapshot = TakeSnapshot(root());
  ASSERT_TRUE(snapshot.has_value());
  ASSERT_EQ(snapshot->entries.size(), 1u);  // mnt itself, not entered
  EXPECT_EQ(testing::ReadHostFile(root_ / "mnt/file"), "other fs");
}

}  // namespace
}  // namespace workspace
