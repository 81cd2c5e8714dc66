#include "workspace/beneath.h"

#include <gtest/gtest.h>

#include "workspace/test_tree.h"

namespace workspace {
namespace {

using testing::ResolverTest;

class BeneathTest : public ResolverTest {};
WORKSPACE_BOTH_RESOLVERS(BeneathTest);

TEST_P(BeneathTest, OpensFilesAndDirectories) {
  EXPECT_EQ(ActiveResolver(), GetParam());
  fs::create_directories(root_ / "a/b");
  testing::WriteHostFile(root_ / "a/b/f", "x");
  auto file = OpenBeneath(root(), Components{"a", "b", "f"}, O_RDONLY, "f");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_TRUE(S_ISREG(file->st.st_mode));
  auto dir = OpenBeneath(root(), Components{"a", "b"}, O_PATH | O_DIRECTORY, "b");
  ASSERT_TRUE(dir.has_value()) << dir.error().message;
  EXPECT_TRUE(S_ISDIR(dir->st.st_mode));
  auto self = OpenBeneath(root(), {}, O_PATH | O_DIRECTORY, "root");
  ASSERT_TRUE(self.has_value());
  auto missing = OpenBeneath(root(), Components{"a", "nope"}, O_RDONLY, "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, FsErrc::kNotFound);
  auto through_file = OpenBeneath(root(), Components{"a", "b", "f", "g"}, O_RDONLY, "g");
  ASSERT_FALSE(through_file.has_value());
  EXPECT_EQ(through_file.error().code, FsErrc::kWrongType);
}

TEST_P(BeneathTest, NeverFollowsALinkLastOrInTheMiddle) {
  fs::create_directories(root_ / "in");
  fs::create_symlink(canary_, root_ / "last");
  fs::create_symlink(outside_, root_ / "dir");
  fs::create_symlink("in", root_ / "inside");       // relative, stays inside: refused too
  fs::create_symlink("/", root_ / "in" / "slash");  // absolute
  for (const int flags : {O_RDONLY, O_RDONLY | O_NONBLOCK, O_PATH, O_PATH | O_DIRECTORY}) {
    for (const Components& path :
         {Components{"last"}, Components{"dir", "canary"}, Components{"inside"},
          Components{"in", "slash", "etc", "passwd"}, Components{"dir"}}) {
      auto opened = OpenBeneath(root(), path, flags, RelativePath(path));
      ASSERT_FALSE(opened.has_value()) << RelativePath(path) << " flags " << flags;
      EXPECT_EQ(opened.error().code, FsErrc::kLink)
          << RelativePath(path) << " flags " << flags << ": " << opened.error().message;
      EXPECT_EQ(HttpStatus(opened.error().code), 409);
    }
  }
}

TEST_P(BeneathTest, RefusesComponentsTheParserWouldNot) {
  for (const Components& path : {Components{".."}, Components{"a", ".."}, Components{"."},
                                 Components{"a/b"}, Components{""}}) {
    auto opened = OpenBeneath(root(), path, O_PATH, "x");
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, FsErrc::kBadPath);
  }
}

TEST(ResolverChoiceTest, ForcingAndRestoring) {
  SetResolverForTesting(Resolver::kWalk);
  EXPECT_EQ(ActiveResolver(), Resolver::kWalk);
  SetResolverForTesting(Resolver::kAuto);
  EXPECT_EQ(ActiveResolver(), KernelHasOpenat2() ? Resolver::kOpenat2 : Resolver::kWalk);
}

}  // namespace
}  // namespace workspace
