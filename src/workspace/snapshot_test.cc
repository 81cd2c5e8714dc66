#include "workspace/snapshot.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "workspace/test_tree.h"

namespace workspace {
namespace {

using testing::TreeTest;
using testing::WriteHostFile;

class SnapshotTest : public TreeTest {
 protected:
  Snapshot Take(const SnapshotLimits& limits = {}) {
    auto snapshot = TakeSnapshot(root(), limits);
    EXPECT_TRUE(snapshot.has_value()) << snapshot.error().message;
    return snapshot.value_or(Snapshot{});
  }

  static std::vector<std::string> Describe(const ChangeList& list) {
    std::vector<std::string> out;
    for (const FileChange& c : list.changes) {
      out.push_back(std::string(ChangeName(c.change)) + " " + c.path + " " +
                    std::string(TypeName(c.type)) + " " + std::to_string(c.size));
    }
    return out;
  }
};

TEST_F(SnapshotTest, CreatedModifiedDeleted) {
  fs::create_directories(root_ / "keep");
  WriteHostFile(root_ / "keep/same", "1");
  WriteHostFile(root_ / "edit", "1");
  WriteHostFile(root_ / "gone", "1");
  const Snapshot before = Take();

  WriteHostFile(root_ / "edit", "22");
  fs::remove(root_ / "gone");
  fs::create_directories(root_ / "new/dir");
  WriteHostFile(root_ / "new/dir/f", "333");
  WriteHostFile(root_ / "keep/added", "");  // changes keep's mtime: keep itself not reported
  const Snapshot after = Take();

  const ChangeList diff = Diff(before, after, 100);
  EXPECT_FALSE(diff.truncated);
  EXPECT_EQ(Describe(diff),
            (std::vector<std::string>{"modified edit file 2", "deleted gone file 1",
                                      "created keep/added file 0", "created new dir 0",
                                      "created new/dir dir 0", "created new/dir/f file 3"}));
  EXPECT_EQ(diff.total, 6u);
  EXPECT_TRUE(Diff(after, after, 100).changes.empty());

  const ChangeList capped = Diff(before, after, 2);
  EXPECT_EQ(capped.changes.size(), 2u);
  EXPECT_EQ(capped.total, 6u);
  EXPECT_TRUE(capped.truncated);
}

TEST_F(SnapshotTest, RewriteWithTheOldMtimeIsStillAModification) {
  WriteHostFile(root_ / "f", "aaaa");
  struct stat st {};
  ASSERT_EQ(stat((root_ / "f").c_str(), &st), 0);
  const Snapshot before = Take();
  WriteHostFile(root_ / "f", "bbbb");  // same size
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (root_ / "f").c_str(), times, 0), 0);  // ctime still moves
  const ChangeList diff = Diff(before, Take(), 100);
  EXPECT_EQ(Describe(diff), std::vector<std::string>{"modified f file 4"});
}

TEST_F(SnapshotTest, LinksAreEntriesNeverEntered) {
  fs::create_symlink(outside_, root_ / "out");
  fs::create_symlink(canary_, root_ / "canary");
  ASSERT_EQ(mkfifo((root_ / "fifo").c_str(), 0666), 0);
  const Snapshot snapshot = Take();
  std::vector<std::string> paths;
  for (const SnapshotEntry& e : snapshot.entries) {
    paths.push_back(e.path);
    EXPECT_EQ(e.type, EntryType::kOther) << e.path;
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"canary", "fifo", "out"}));
}

TEST_F(SnapshotTest, DepthIsBoundedTheSameWayBothTimes) {
  fs::path deep = root_;
  for (int i = 0; i < 6; ++i) deep /= "d";
  fs::create_directories(deep);
  const SnapshotLimits limits{.max_entries = 1000, .max_depth = 3};
  const Snapshot before = Take(limits);
  EXPECT_TRUE(before.depth_cut);
  EXPECT_EQ(before.entries.size(), 4u);  // d, d/d, d/d/d, d/d/d/d (not entered)
  WriteHostFile(deep / "hidden", "x");
  EXPECT_TRUE(Diff(before, Take(limits), 100).changes.empty());
}

TEST_F(SnapshotTest, ACutSnapshotNeverInventsCreatedOrDeletedFiles) {
  for (int i = 0; i < 50; ++i) WriteHostFile(root_ / ("f" + std::to_string(100 + i)), "");
  fs::create_directories(root_ / "a");
  const SnapshotLimits limits{.max_entries = 20, .max_depth = 8};
  const Snapshot before = Take(limits);
  EXPECT_TRUE(before.truncated);
  EXPECT_EQ(before.entries.size(), 20u);
  WriteHostFile(root_ / "a/new", "x");  // "a" sorts first: inside the cut
  fs::remove(root_ / "f149");           // beyond it: not seen
  const Snapshot after = Take(limits);
  const ChangeList diff = Diff(before, after, 100);
  EXPECT_TRUE(diff.truncated);
  EXPECT_EQ(Describe(diff), std::vector<std::string>{"created a/new file 1"});
}

TEST_F(SnapshotTest, PathsCompareComponentByComponent) {
  EXPECT_LT(ComparePaths("a", "a/x"), 0);
  EXPECT_LT(ComparePaths("a/x", "a!"), 0);
  EXPECT_LT(ComparePaths("a/z", "a!"), 0);
  EXPECT_GT(ComparePaths("b", "a/z"), 0);
  EXPECT_EQ(ComparePaths("a/b", "a/b"), 0);
  fs::create_directories(root_ / "a");
  WriteHostFile(root_ / "a!", "");
  WriteHostFile(root_ / "a/x", "");
  const Snapshot snapshot = Take();
  EXPECT_TRUE(std::is_sorted(snapshot.entries.begin(), snapshot.entries.end(),
                             [](const SnapshotEntry& x, const SnapshotEntry& y) {
                               return ComparePaths(x.path, y.path) < 0;
                             }));
}

TEST_F(SnapshotTest, OddNamesAreKeptAsBytes) {
  const std::string odd = "a\nb\xff";
  WriteHostFile(root_ / odd, "1");
  const Snapshot snapshot = Take();
  ASSERT_EQ(snapshot.entries.size(), 1u);
  EXPECT_EQ(snapshot.entries[0].path, odd);
}

}  // namespace
}  // namespace workspace
