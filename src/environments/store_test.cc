#include "environments/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace environments {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A finished build of `name` with a file of `bytes` in its root.
  Built InstallBuild(const Store& store, const std::string& name, const std::string& hash,
                     std::size_t bytes) {
    auto build = store.NewBuildDir();
    EXPECT_TRUE(build) << build.error().message;
    fs::create_directories(*build / "root/usr/bin");
    std::ofstream(*build / "root/usr/bin/python3") << std::string(bytes, 'x');
    Built built{.name = name, .hash = hash, .size_bytes = DiskUsage(*build / "root")};
    auto installed = store.Install(*build, built);
    EXPECT_TRUE(installed) << installed.error().message;
    return *installed;
  }
  fs::path dir_;
};

TEST_F(StoreTest, InstallFindListReplaceRemove) {
  const Store store(dir_ / "store");
  EXPECT_TRUE(store.List().value().empty());  // no store yet: nothing built
  EXPECT_FALSE(store.Find("python"));

  const Built first = InstallBuild(store, "python", "aaaa", 100000);
  EXPECT_GE(first.size_bytes, 100000u);
  EXPECT_TRUE(fs::exists(first.root / "usr/bin/python3"));
  auto found = store.Find("python");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->hash, "aaaa");
  EXPECT_EQ(found->root, first.root);

  const Built second = InstallBuild(store, "python", "bbbb", 10);
  EXPECT_EQ(store.Find("python")->hash, "bbbb");
  EXPECT_FALSE(fs::exists(first.root)) << "the previous build is removed";
  ASSERT_TRUE(store.SetDockerImage(second, "img:bbbb"));
  EXPECT_EQ(store.Find("python")->docker_image, "img:bbbb");

  InstallBuild(store, "minimal", "cccc", 10);
  const auto listed = store.List().value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "minimal");
  EXPECT_EQ(listed[1].name, "python");
  for (const auto& entry : fs::directory_iterator(store.Dir()))
    EXPECT_NE(entry.path().filename().string().rfind(".build-", 0), 0u) << "left a build dir";

  EXPECT_TRUE(store.Remove("python").value());
  EXPECT_FALSE(store.Remove("python").value());
  EXPECT_FALSE(store.Find("python"));
  EXPECT_EQ(store.List().value().size(), 1u);
}

TEST_F(StoreTest, NamesAreChecked) {
  EXPECT_TRUE(ValidName("python"));
  EXPECT_TRUE(ValidName("my-env_2"));
  for (const char* bad :
       {"", "host", "../x", "A", "-x", "a/b", ".cache", "012345678901234567890123456789012"})
    EXPECT_FALSE(ValidName(bad)) << bad;
  const Store store(dir_);
  EXPECT_FALSE(store.Find("../etc"));
  EXPECT_FALSE(store.Remove("../etc"));
}

}  // namespace
}  // namespace environments
