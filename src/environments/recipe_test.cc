#include "environments/recipe.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace environments {
namespace {

namespace fs = std::filesystem;

class RecipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "recipe-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Write("build-root.sh", "#!/bin/sh\n");
    Write("small/packages.txt", "python3\n");
    Write("small/check.py", "print(1)\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }
  std::string Hash(const std::string& mirror = "m") {
    auto recipe = FindRecipe(dir_, "small");
    EXPECT_TRUE(recipe) << recipe.error().message;
    auto hash = RecipeHash(*recipe, "bookworm", mirror);
    EXPECT_TRUE(hash) << hash.error().message;
    return *hash;
  }
  fs::path dir_;
};

TEST_F(RecipeTest, HashIsStableAndCoversEveryInput) {
  const std::string first = Hash();
  EXPECT_EQ(first.size(), 16u);
  EXPECT_EQ(Hash(), first);
  EXPECT_NE(Hash("other mirror"), first);
  Write("small/check.py", "print(2)\n");
  const std::string after_check = Hash();
  EXPECT_NE(after_check, first);
  Write("small/setup.sh", "true\n");
  const std::string after_setup = Hash();
  EXPECT_NE(after_setup, after_check);
  Write("build-root.sh", "#!/bin/sh\n# changed\n");
  EXPECT_NE(Hash(), after_setup);
}

TEST_F(RecipeTest, UnknownRecipeListsTheKnownOnes) {
  Write("other/packages.txt", "python3\n");
  Write("not-a-recipe/readme", "x");
  EXPECT_EQ(RecipeNames(dir_), (std::vector<std::string>{"other", "small"}));
  auto missing = FindRecipe(dir_, "nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("known: other, small"), std::string::npos)
      << missing.error().message;
  EXPECT_FALSE(FindRecipe(dir_, "../small"));
  EXPECT_FALSE(FindRecipe(dir_, "host"));
}

}  // namespace
}  // namespace environments
