#include "workspace/writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "workspace/test_tree.h"

namespace workspace {
namespace {

using testing::ReadHostFile;
using testing::ResolverTest;
using testing::WriteHostFile;

constexpr char kAbcSha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

class WriterTest : public ResolverTest {
 protected:
  FsResult<WriteResult> Put(const std::string& raw, const std::string& content,
                            const WriteOptions& options = {}) {
    auto path = ParseClientPath(raw, PathUse::kFile);
    EXPECT_TRUE(path.has_value());
    auto writer = BeginWrite(root(), *path, options);
    if (!writer) return std::unexpected(writer.error());
    for (std::size_t i = 0; i < content.size(); i += 3) {  // in small chunks
      if (auto w = writer->Write(std::string_view(content).substr(i, 3)); !w) {
        return std::unexpected(w.error());
      }
    }
    return writer->Commit();
  }

  // Runs `body` with O_TMPFILE and with named temporaries.
  template <typename F>
  void BothTemporaries(F body) {
    for (const TempStrategy strategy : {TempStrategy::kAuto, TempStrategy::kNamed}) {
      SCOPED_TRACE(strategy == TempStrategy::kNamed ? "named temporary" : "O_TMPFILE");
      SetTempStrategyForTesting(strategy);
      body();
    }
  }
};
WORKSPACE_BOTH_RESOLVERS(WriterTest);

TEST_P(WriterTest, RoundTripWithSha256ModeAndParents) {
  BothTemporaries([&] {
    auto written = Put("/sandbox/a/b/c.bin", "abc");
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_EQ(written->size, 3u);
    EXPECT_EQ(written->sha256, kAbcSha256);
    EXPECT_EQ(ReadHostFile(root_ / "a/b/c.bin"), "abc");
    EXPECT_EQ(fs::status(root_ / "a/b/c.bin").permissions(), fs::perms(0644));
    EXPECT_EQ(fs::status(root_ / "a/b").permissions(), fs::perms(0755));
    EXPECT_EQ(Names("a/b"), std::vector<std::string>{"c.bin"});  // no temporary left

    auto empty = Put("empty", "");
    ASSERT_TRUE(empty.has_value());
    EXPECT_EQ(empty->sha256, kEmptySha256);
    EXPECT_EQ(fs::file_size(root_ / "empty"), 0u);

    auto replaced = Put("a/b/c.bin", "new contents");
    ASSERT_TRUE(replaced.has_value());
    EXPECT_EQ(ReadHostFile(root_ / "a/b/c.bin"), "new contents");
  });
}

TEST_P(WriterTest, NamesWithNewlinesAndInvalidUtf8) {
  const std::string name = "line\nbreak \xff\xfe.txt";
  auto written = Put(name, "odd");
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(ReadHostFile(root_ / name), "odd");
}

// A symlink at the target is replaced by the file; what it points at stays untouched.
TEST_P(WriterTest, ASymlinkAtTheTargetIsReplacedNeverWrittenThrough) {
  BothTemporaries([&] {
    fs::create_symlink(canary_, root_ / "link");
    auto written = Put("link", "overwrite?");
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_FALSE(fs::is_symlink(root_ / "link"));
    EXPECT_EQ(ReadHostFile(root_ / "link"), "overwrite?");
    fs::remove(root_ / "link");
  });
}

TEST_P(WriterTest, ASymlinkedParentIsRefused) {
  fs::create_symlink(outside_, root_ / "out");
  fs::create_directories(root_ / "real");
  fs::create_symlink("real", root_ / "alias");
  for (const std::string path : {"out/canary", "out/new/file", "alias/file"}) {
    auto written = Put(path, "escape");
    ASSERT_FALSE(written.has_value()) << path;
    EXPECT_EQ(written.error().code, FsErrc::kLink) << written.error().message;
  }
  EXPECT_EQ(fs::directory_entry(outside_ / "new").exists(), false);
  EXPECT_TRUE(fs::is_empty(root_ / "real"));
}

// Policy (writer.h): a hardlink at the target loses this name; the other name keeps its
// contents. As root, writing into the inode would have changed the file outside.
TEST_P(WriterTest, AHardlinkAtTheTargetIsReplacedNotModified) {
  BothTemporaries([&] {
    ASSERT_EQ(link(canary_.c_str(), (root_ / "hard").c_str()), 0) << strerror(errno);
    auto written = Put("hard", "replaced");
    ASSERT_TRUE(written.has_value()) << written.error().message;
    EXPECT_EQ(ReadHostFile(root_ / "hard"), "replaced");
    fs::remove(root_ / "hard");
  });
}

TEST_P(WriterTest, ADirectoryAtTheTargetIsAConflict) {
  fs::create_directories(root_ / "dir/inner");
  auto early = Put("dir", "x");
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code, FsErrc::kWrongType);
  BothTemporaries([&] {
    // Appearing between BeginWrite and Commit: the rename refuses, nothing is left.
    auto path = ParseClientPath("late", PathUse::kFile);
    auto writer = BeginWrite(root(), *path, {});
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE(writer->Write("data").has_value());
    fs::create_directories(root_ / "late/inner");
    auto committed = writer->Commit();
    ASSERT_FALSE(committed.has_value());
    EXPECT_EQ(committed.error().code, FsErrc::kWrongType) << committed.error().message;
    EXPECT_EQ(Names(), (std::vector<std::string>{"dir", "late"}));
    fs::remove_all(root_ / "late");
  });
}

TEST_P(WriterTest, TooLargeAbortAndDestructionLeaveNothing) {
  BothTemporaries([&] {
    WriteHostFile(root_ / "keep", "old");
    auto too_large = Put("keep", "0123456789x", WriteOptions{.max_bytes = 10});
    ASSERT_FALSE(too_large.has_value());
    EXPECT_EQ(too_large.error().code, FsErrc::kTooLarge);
    EXPECT_EQ(HttpStatus(too_large.error().code), 413);
    {
      auto path = ParseClientPath("keep", PathUse::kFile);
      auto writer = BeginWrite(root(), *path, {});
      ASSERT_TRUE(writer->Write("partial").has_value());
      auto moved = std::move(*writer);  // the moved-from writer cleans nothing twice
      moved.Abort();
      EXPECT_FALSE(moved.Write("more").has_value());
      EXPECT_FALSE(moved.Commit().has_value());
      auto second = BeginWrite(root(), *path, {});
      ASSERT_TRUE(second->Write("dropped").has_value());
    }  // destroyed without Commit
    EXPECT_EQ(ReadHostFile(root_ / "keep"), "old");
    EXPECT_EQ(Names(), std::vector<std::string>{"keep"});
  });
}

// The named temporary is visible to the kernel; one it swaps for its own file is not renamed
// into place.
TEST_P(WriterTest, ANamedTemporaryReplacedByTheKernelIsNotCommitted) {
  SetTempStrategyForTesting(TempStrategy::kNamed);
  auto path = ParseClientPath("target", PathUse::kFile);
  auto writer = BeginWrite(root(), *path, {});
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE(writer->Write("ours").has_value());
  const std::vector<std::string> names = Names();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_TRUE(names[0].starts_with(".ci-upload-")) << names[0];
  EXPECT_EQ(fs::status(root_ / names[0]).permissions(), fs::perms(0600));  // until Commit
  fs::remove(root_ / names[0]);
  fs::create_symlink(canary_, root_ / names[0]);
  auto committed = writer->Commit();
  ASSERT_FALSE(committed.has_value());
  EXPECT_EQ(committed.error().code, FsErrc::kIo);
  EXPECT_EQ(fs::directory_entry(root_ / "target").exists(), false);
}

TEST_P(WriterTest, ASymlinkSwappedInAfterMkdirIsNotFollowed) {
  static fs::path outside;
  outside = outside_;
  SetAfterMkdirHookForTesting([](int dir_fd, const char* name) {
    ASSERT_EQ(unlinkat(dir_fd, name, AT_REMOVEDIR), 0);
    ASSERT_EQ(symlinkat(outside.c_str(), dir_fd, name), 0);
  });
  auto written = Put("new/deeper/file", "escape");
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, FsErrc::kLink) << written.error().message;
  EXPECT_TRUE(fs::is_symlink(root_ / "new"));
  EXPECT_EQ(fs::directory_entry(outside_ / "deeper").exists(), false);
  EXPECT_EQ(fs::directory_entry(outside_ / "file").exists(), false);
}

TEST_P(WriterTest, OwnerIsSetThroughDescriptors) {
  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  auto written = Put("owned/dir/file", "x", WriteOptions{.owner = Ownership{4321, 4322}});
  ASSERT_TRUE(written.has_value()) << written.error().message;
  for (const char* path : {"owned", "owned/dir", "owned/dir/file"}) {
    struct stat st {};
    ASSERT_EQ(stat((root_ / path).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 4321u) << path;
    EXPECT_EQ(st.st_gid, 4322u) << path;
  }
}

TEST_P(WriterTest, DurableCommitAndTheRootRefused) {
  auto durable = Put("d", "sync me", WriteOptions{.durable = true});
  ASSERT_TRUE(durable.has_value()) << durable.error().message;
  auto root_write = BeginWrite(root(), {}, {});
  ASSERT_FALSE(root_write.has_value());
  EXPECT_EQ(root_write.error().code, FsErrc::kBadPath);
  WriteHostFile(root_ / "file", "x");
  auto under_file = Put("file/child", "x");
  ASSERT_FALSE(under_file.has_value());
  EXPECT_EQ(under_file.error().code, FsErrc::kWrongType) << under_file.error().message;
}

// Without CAP_DAC_READ_SEARCH (before Linux 6.10, for an ordinary user, or for root in a
// container with Docker's default capabilities) linkat(AT_EMPTY_PATH) fails and the O_TMPFILE
// temporary is named through /proc/self/fd instead; forced here, since newer kernels allow
// AT_EMPTY_PATH to the file's opener.
TEST_P(WriterTest, NamesTheTemporaryThroughProcWhereAtEmptyPathFails) {
  SetTempStrategyForTesting(TempStrategy::kProcLink);
  auto written = Put("proc/file", "abc");
  ASSERT_TRUE(written.has_value()) << written.error().message;
  EXPECT_EQ(written->sha256, kAbcSha256);
  EXPECT_EQ(ReadHostFile(root_ / "proc/file"), "abc");
  EXPECT_EQ(Names("proc"), std::vector<std::string>{"file"});
}

}  // namespace
}  // namespace workspace
