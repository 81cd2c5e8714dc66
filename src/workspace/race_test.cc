// The kernel swapping a directory for a symbolic link to the outside while the gateway works:
// a thread exchanges "a" (a real directory) and a link to outside/ with renameat2
// RENAME_EXCHANGE as fast as it can, while every operation runs on paths under "a". Whatever
// interleaving happens, nothing outside is read, written, listed, snapshotted or removed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "workspace/test_tree.h"
#include "workspace/workspace.h"

namespace workspace {
namespace {

using testing::ResolverTest;

class RaceTest : public ResolverTest {};
WORKSPACE_BOTH_RESOLVERS(RaceTest);

TEST_P(RaceTest, ADirectorySwappedForALinkNeverLeadsOutside) {
  fs::create_directories(root_ / "a");
  testing::WriteHostFile(root_ / "a/canary", "inside");
  testing::WriteHostFile(outside_ / "outside-only", "must stay");
  fs::create_symlink(outside_, root_ / "b");
  struct stat outside_canary {};
  ASSERT_EQ(stat(canary_.c_str(), &outside_canary), 0);

  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  std::thread kernel([&] {
    const std::string a = root_ / "a", b = root_ / "b";
    while (!stop.load()) {
      if (renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
    }
  });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  long reads = 0, writes = 0, iterations = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    ++iterations;
    if (auto writer = BeginWrite(root(), Components{"a", "canary"}, {})) {
      if (writer->Write("inside").has_value() && writer->Commit().has_value()) ++writes;
    }
    (void)BeginWrite(root(), Components{"a", "new", "file"}, {});  // mkdir under "a"
    if (auto file = OpenRegularForRead(root(), Components{"a", "canary"})) {
      ++reads;
      EXPECT_NE(file->inode, outside_canary.st_ino) << "read the canary outside";
    }
    if (auto listing = List(root(), Components{"a"}, 10)) {
      for (const ListEntry& e : listing->entries) EXPECT_NE(e.name, "outside-only");
    }
    if (auto snapshot = TakeSnapshot(root())) {
      for (const SnapshotEntry& e : snapshot->entries) {
        EXPECT_NE(e.inode, outside_canary.st_ino) << "snapshot entered the link: " << e.path;
      }
    }
    (void)Remove(root(), Components{"a", "canary"}, false);
    (void)Remove(root(), Components{"a", "new"}, true);
  }
  stop.store(true);
  kernel.join();
  std::vector<std::string> outside;
  for (const auto& entry : fs::directory_iterator(outside_)) {
    outside.push_back(entry.path().filename().string());
  }
  std::sort(outside.begin(), outside.end());
  EXPECT_EQ(outside, (std::vector<std::string>{"canary", "outside-only"}));
  EXPECT_EQ(testing::ReadHostFile(outside_ / "outside-only"), "must stay");
  RecordProperty("swaps", static_cast<int>(swaps.load()));
  EXPECT_GT(swaps.load(), 10);
  EXPECT_GT(iterations, 10);
  std::printf("    %ld iterations, %ld swaps, %ld reads and %ld writes got through\n", iterations,
              swaps.load(), reads, writes);
}

}  // namespace
}  // namespace workspace
