#include "workspace/listing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "workspace/test_tree.h"

namespace workspace {
namespace {

using testing::ResolverTest;
using testing::WriteHostFile;

class ListingTest : public ResolverTest {
 protected:
  FsResult<Listing> ListPath(const std::string& raw, std::size_t max = 100) {
    auto path = ParseClientPath(raw, PathUse::kDirectory);
    EXPECT_TRUE(path.has_value());
    return List(root(), *path, max);
  }
};
WORKSPACE_BOTH_RESOLVERS(ListingTest);

TEST_P(ListingTest, ReportsTypesWithoutFollowingOrOpening) {
  WriteHostFile(root_ / "file.csv", "12345");
  fs::create_directories(root_ / "dir");
  fs::create_symlink(canary_, root_ / "link");
  fs::create_symlink(outside_, root_ / "linked-dir");
  ASSERT_EQ(mkfifo((root_ / "fifo").c_str(), 0666), 0);
  testing::MakeSocket(root_ / "sock");
  const std::string odd = "new\nline\xff";
  WriteHostFile(root_ / odd, "");

  auto listing = ListPath("/sandbox");
  ASSERT_TRUE(listing.has_value()) << listing.error().message;
  EXPECT_FALSE(listing->truncated);
  std::vector<std::string> names;
  for (const ListEntry& e : listing->entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"dir", "fifo", "file.csv", "link", "linked-dir", odd,
                                             "sock"}));
  const auto type_of = [&](std::string_view name) {
    for (const ListEntry& e : listing->entries) {
      if (e.name == name) return std::pair(e.type, e.size);
    }
    return std::pair(EntryType::kOther, std::uint64_t{999});
  };
  EXPECT_EQ(type_of("file.csv"), std::pair(EntryType::kFile, std::uint64_t{5}));
  EXPECT_EQ(type_of("dir").first, EntryType::kDir);
  EXPECT_EQ(type_of("link"), std::pair(EntryType::kOther, std::uint64_t{0}));
  EXPECT_EQ(type_of("linked-dir"), std::pair(EntryType::kOther, std::uint64_t{0}));
  EXPECT_EQ(type_of("fifo").first, EntryType::kOther);
  EXPECT_EQ(type_of("sock").first, EntryType::kOther);
  EXPECT_EQ(type_of(odd).first, EntryType::kFile);
  EXPECT_GT(listing->entries[0].mtime_ns, 0);
}

TEST_P(ListingTest, BoundedToTheSmallestNames) {
  for (int i = 0; i < 200; ++i) WriteHostFile(root_ / ("f" + std::to_string(1000 + i)), "");
  auto listing = ListPath("", 3);
  ASSERT_TRUE(listing.has_value());
  EXPECT_TRUE(listing->truncated);
  EXPECT_EQ(listing->total, 200u);
  ASSERT_EQ(listing->entries.size(), 3u);
  EXPECT_EQ(listing->entries[0].name, "f1000");
  EXPECT_EQ(listing->entries[2].name, "f1002");
  auto none = ListPath("", 0);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->entries.empty());
  EXPECT_TRUE(none->truncated);
}

TEST_P(ListingTest, RefusesLinksFilesAndMissingDirectories) {
  fs::create_symlink(outside_, root_ / "out");
  WriteHostFile(root_ / "file", "");
  auto link = ListPath("out");
  ASSERT_FALSE(link.has_value());
  EXPECT_EQ(link.error().code, FsErrc::kLink) << link.error().message;
  auto below_link = ListPath("out/");
  ASSERT_FALSE(below_link.has_value());
  EXPECT_EQ(below_link.error().code, FsErrc::kLink);
  auto file = ListPath("file");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code, FsErrc::kWrongType) << file.error().message;
  auto missing = ListPath("missing");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, FsErrc::kNotFound);
  EXPECT_EQ(HttpStatus(missing.error().code), 404);
}

}  // namespace
}  // namespace workspace
